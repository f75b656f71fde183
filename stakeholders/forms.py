"""Forms for organisations, memberships and residence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from coord.forms import halfwidth, strip_text

PHONE_RE = r"^1[3-9][0-9]{9}$"


class OrganisationForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[strip_text], validators=[DataRequired(), Length(max=80)]
    )
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    function = SelectField(_l("Function"), validators=[DataRequired()])
    community_id = SelectField(_l("Community"), coerce=int, validators=[Optional()])
    credit_code = StringField(
        _l("Unified social credit code"),
        filters=[strip_text],
        validators=[Optional(), Length(max=40)],
        description=_l(
            "The 18 characters on the business licence or registration certificate. Optional, "
            "but it lets the street office confirm your organisation quickly."
        ),
    )
    description = TextAreaField(
        _l("Description"), filters=[strip_text], validators=[Length(max=2000)]
    )
    submit = SubmitField(_l("Create organisation"))


class ConfirmOrganisationForm(FlaskForm):
    basis = RadioField(
        _l("What you checked"),
        choices=[
            SelectChoice(
                "credit_code", _l("Its unified social credit code, in the public register")
            ),
            SelectChoice("registration", _l("Its registration papers")),
        ],
        validators=[DataRequired()],
    )
    note = StringField(
        _l("What exactly you checked"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=500)],
    )
    submit = SubmitField(_l("Confirm organisation"))


class ResidenceForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    building = StringField(
        _l("Building"), filters=[strip_text], validators=[DataRequired(), Length(max=20)]
    )
    unit = StringField(
        _l("Unit / room"), filters=[strip_text], validators=[DataRequired(), Length(max=20)]
    )
    phone = StringField(
        _l("Mobile phone"),
        filters=[strip_text, halfwidth],
        validators=[
            DataRequired(),
            Regexp(PHONE_RE, message=_l("Enter an 11-digit mobile number.")),
        ],
    )
    submit = SubmitField(_l("Claim residence"))


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason"), filters=[strip_text], validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField(_l("Confirm"))


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("admin", _l("Admin")),
            SelectChoice("member", _l("Member")),
            SelectChoice("delegate", _l("Delegate")),
        ],
    )
    submit = SubmitField(_l("Set role"))
