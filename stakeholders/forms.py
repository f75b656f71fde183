"""Forms for organisations, memberships and residence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
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
    description = TextAreaField(
        _l("Description"), filters=[strip_text], validators=[Length(max=2000)]
    )
    submit = SubmitField(_l("Create organisation"))


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
