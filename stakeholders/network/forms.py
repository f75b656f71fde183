"""Forms of the network pages: declaring and answering relations, the conflict-of-interest check."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from stakeholders.network.relations import MAX_EVIDENCE, MAX_NOTE


class RelationForm(FlaskForm):
    """Declare a relation from one of the user's identities to another stakeholder."""

    source_id = SelectField(_l("Declared by"), coerce=int, validators=[DataRequired()])
    target_id = SelectField(_l("With"), coerce=int, validators=[DataRequired()])
    type = SelectField(_l("Type of relation"), validators=[DataRequired()])
    strength = SelectField(
        _l("Strength"),
        coerce=int,
        choices=[
            SelectChoice(1, _l("1 — weak")),
            SelectChoice(2, _l("2 — clear")),
            SelectChoice(3, _l("3 — strong")),
        ],
        default=1,
    )
    visibility = SelectField(_l("Who may see it"), validators=[DataRequired()])
    note = TextAreaField(
        _l("What is the relation about?"), validators=[Optional(), Length(max=MAX_NOTE)]
    )
    evidence = TextAreaField(
        _l("Evidence (a contract number, a meeting, a document)"),
        validators=[Optional(), Length(max=MAX_EVIDENCE)],
    )
    submit = SubmitField(_l("Declare the relation"))


class ResponseForm(FlaskForm):
    """The other side's answer: confirm (optionally with a note) or dispute (with a reason)."""

    note = TextAreaField(_l("Your side of it"), validators=[Optional(), Length(max=MAX_NOTE)])


class InterestForm(FlaskForm):
    """Check two stakeholders for ties that make a conflict of interest."""

    class Meta:
        csrf = False  # a GET search form

    a = SelectField(_l("First stakeholder"), coerce=int, validators=[DataRequired()])
    b = SelectField(_l("Second stakeholder"), coerce=int, validators=[DataRequired()])
    hops = SelectField(
        _l("At most"),
        coerce=int,
        choices=[
            SelectChoice(1, _l("1 step")),
            SelectChoice(2, _l("2 steps")),
            SelectChoice(3, _l("3 steps")),
        ],
        default=2,
    )


class PurposeForm(FlaskForm):
    """State why residents must be seen one by one in the network (recorded)."""

    purpose = TextAreaField(
        _l("Purpose"),
        validators=[DataRequired(), Length(min=4, max=200)],
        description=_l("Recorded in the audit trail with your name."),
    )
    submit = SubmitField(_l("Show residents one by one"))
