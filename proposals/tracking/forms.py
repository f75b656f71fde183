"""Forms of plan approvals and tracked requests."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from coord.forms import strip_text
from coord.web import MAX_ID
from proposals.tracking.review_route import DECISION_LABELS

ROUTE_ROWS = 6


def _int_or_none(value: object) -> int | None:
    """Coerce a select's value to an id, '' to None (ids beyond 32 bits do not exist)."""
    if value in (None, "", "None"):
        return None
    rv = int(value)
    if not 0 < rv <= MAX_ID:
        raise ValueError("not an id")
    return rv


class RequestForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    title = StringField(
        _l("Title"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=120)],
        description=_l("In a few words, e.g. “Street light out in the lane behind building 5”."),
    )
    description = TextAreaField(
        _l("What is the problem?"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=2000)],
    )
    location = StringField(
        _l("Where (optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=200)],
        description=_l("A place anyone can find, not your flat number."),
    )
    grid_id = SelectField(_l("Grid (optional)"), coerce=_int_or_none, validators=[Optional()])
    visibility = RadioField(
        _l("Who can see it"),
        choices=[
            SelectChoice("public", _l("Everyone")),
            SelectChoice(
                "handlers", _l("Only the residents committee, the street office and handlers")
            ),
        ],
        default="public",
        validators=[InputRequired()],
    )
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("Up to 5 PNG or JPEG photos; location data is removed."),
    )
    submit = SubmitField(_l("Submit request"))


class AssignForm(FlaskForm):
    handler_id = SelectField(_l("Handler"), coerce=_int_or_none, validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), filters=[strip_text], validators=[Length(max=500)])
    submit = SubmitField(_l("Assign"))


class TransferForm(FlaskForm):
    handler_id = SelectField(_l("Transfer to"), coerce=_int_or_none, validators=[DataRequired()])
    reason = StringField(_l("Reason"), filters=[strip_text], validators=[Length(max=500)])
    submit = SubmitField(_l("Transfer"))


class ProgressForm(FlaskForm):
    text = TextAreaField(_l("Progress"), filters=[strip_text], validators=[Length(max=1000)])
    photo = MultipleFileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Post progress"))


class MoveForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), filters=[strip_text], validators=[Length(max=500)])


class MergeForm(FlaskForm):
    target = IntegerField(
        _l("Duplicate of request no."), validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    reason = StringField(_l("Note (optional)"), filters=[strip_text], validators=[Length(max=500)])
    submit = SubmitField(_l("Merge"))


class RateForm(FlaskForm):
    rating = RadioField(
        _l("How satisfied are you?"),
        choices=[SelectChoice(str(i), str(i)) for i in range(5, 0, -1)],
        validators=[Optional()],
    )
    comment = TextAreaField(
        _l("Comment (optional)"), filters=[strip_text], validators=[Length(max=500)]
    )
    submit = SubmitField(_l("Confirm and rate"))


class PlanForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    title = StringField(
        _l("Title"), filters=[strip_text], validators=[DataRequired(), Length(max=120)]
    )
    summary = TextAreaField(
        _l("Summary"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=500)],
        description=_l("One paragraph: what will be done, where, and why."),
    )
    body = TextAreaField(
        _l("Plan text"),
        validators=[Length(max=50_000)],
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…)."),
    )
    budget = StringField(
        _l("Budget in yuan (optional)"), filters=[strip_text], validators=[Length(max=20)]
    )
    schedule = TextAreaField(
        _l("Schedule"),
        filters=[strip_text],
        validators=[Length(max=2000)],
        description=_l("The main phases and their dates."),
    )
    consultation_id = SelectField(
        _l("Consultation of residents (optional)"), coerce=_int_or_none, validators=[Optional()]
    )
    attachments = MultipleFileField(
        _l("Attachments (optional)"),
        description=_l("PDF, PNG or JPEG, at most 10 files; served as downloads only."),
    )
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit for approval"))


class PlanDetailsForm(FlaskForm):
    budget = StringField(
        _l("Budget in yuan (optional)"), filters=[strip_text], validators=[Length(max=20)]
    )
    schedule = TextAreaField(_l("Schedule"), filters=[strip_text], validators=[Length(max=2000)])
    consultation_id = SelectField(
        _l("Consultation of residents (optional)"), coerce=_int_or_none, validators=[Optional()]
    )
    submit = SubmitField(_l("Save"))


class AttachmentForm(FlaskForm):
    file = MultipleFileField(_l("File"))
    submit = SubmitField(_l("Attach"))


class StepForm(FlaskForm):
    class Meta:
        csrf = False

    owner_id = SelectField(_l("Reviewer"), coerce=_int_or_none, validators=[Optional()])
    group = IntegerField(
        _l("Group"), validators=[Optional(), NumberRange(min=1, max=12)], default=1
    )
    days = IntegerField(_l("Working days"), validators=[Optional()], default=5)


class RouteForm(FlaskForm):
    steps = FieldList(FormField(StepForm), min_entries=ROUTE_ROWS, max_entries=12)
    submit = SubmitField(_l("Set the route and start the review"))


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice(k, _l(DECISION_LABELS[k]))
            for k in ("approved", "changes_requested", "rejected")
        ],
        validators=[Optional()],
    )
    opinion = TextAreaField(_l("Opinion"), filters=[strip_text], validators=[Length(max=2000)])
    submit = SubmitField(_l("Record decision"))


class SignOffForm(FlaskForm):
    decision = RadioField(
        _l("Final decision"),
        choices=[SelectChoice("approved", _l("Approve")), SelectChoice("rejected", _l("Reject"))],
        validators=[Optional()],
    )
    opinion = TextAreaField(_l("Opinion"), filters=[strip_text], validators=[Length(max=2000)])
    submit = SubmitField(_l("Sign off"))


class MilestoneForm(FlaskForm):
    title = StringField(
        _l("Milestone"), filters=[strip_text], validators=[DataRequired(), Length(max=120)]
    )
    due_on = DateField(_l("Due on"), validators=[Optional()])
    submit = SubmitField(_l("Add milestone"))


class MilestoneUpdateForm(FlaskForm):
    status = SelectField(_l("Status"), validators=[DataRequired()])
    text = TextAreaField(_l("Progress"), filters=[strip_text], validators=[Length(max=2000)])
    evidence = MultipleFileField(_l("Evidence (optional)"))
    submit = SubmitField(_l("Report progress"))


class MilestoneCommentForm(FlaskForm):
    text = TextAreaField(_l("Comment"), filters=[strip_text], validators=[Length(max=1000)])
    submit = SubmitField(_l("Comment"))


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    kind = RadioField(
        _l("The day is"),
        choices=[SelectChoice("off", _l("a day off")), SelectChoice("work", _l("a working day"))],
        default="off",
        validators=[InputRequired()],
    )
    reason = StringField(
        _l("Reason"), filters=[strip_text], validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField(_l("Adjust the day"))


class CalendarYearForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    submit = SubmitField(_l("Declare the year complete"))
