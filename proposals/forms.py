"""Forms for proposals and lifecycle actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from coord.forms import ConfirmForm, strip_text
from proposals import decision

KIND_CHOICES_LABELS = {
    "consultation": _l("Consultation"),
    "request": _l("Request"),
    "plan": _l("Plan for approval"),
    "tender": _l("Tender"),
}
VISIBILITY_LABELS = {
    "public": _l("Public"),
    "community": _l("Members of the community"),
    "invited": _l("Invited stakeholders"),
}


class ProposalForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    title = StringField(
        _l("Title"), filters=[strip_text], validators=[DataRequired(), Length(max=120)]
    )
    summary = TextAreaField(
        _l("Summary"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=500)],
        description=_l("One paragraph: what is proposed and why."),
    )
    body = TextAreaField(
        _l("Text"),
        validators=[Length(max=50_000)],
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…)."),
    )
    category = SelectField(_l("Category"), validators=[Optional()])
    deadline = DateTimeLocalField(
        _l("Deadline (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    visibility = SelectField(_l("Who can see it"), validators=[DataRequired()])
    invited = SelectMultipleField(_l("Invited stakeholders"), coerce=int, validators=[Optional()])
    note = StringField(
        _l("What changed (optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=300)],
    )
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Publish"))


class TransitionForm(FlaskForm):
    action = StringField(validators=[DataRequired(), Length(max=30)])
    reason = TextAreaField(_l("Reason"), filters=[strip_text], validators=[Length(max=500)])


class DecisionForm(ConfirmForm):
    """Confirm adopting or rejecting a proposal, with the decision text recorded publicly."""

    text = TextAreaField(
        _l("Decision (shown at the top of the proposal and in its timeline)"),
        filters=[strip_text],
        validators=[
            DataRequired(_l("Write the decision: what was decided and on what grounds.")),
            Length(max=decision.MAX_CHARS),
        ],
        description=_l("Say what was decided, cite the result and the conditions met."),
        render_kw={"rows": 8},
    )
    tie_acknowledged = BooleanField(decision.TIE_ACKNOWLEDGEMENT)
