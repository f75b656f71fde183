"""The tender forms: create a tender, ask and answer, bid, open, declare, score, award,
challenge, decide and sign."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    FieldList,
    Form,
    FormField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from coord.forms import ConfirmForm, strip_text

CRITERION_ROWS = 4
MILESTONE_ROWS = 4


class ValuesField(Field):
    """Every value sent under this name, as a list (for inputs the template repeats)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)


class CriterionForm(Form):
    name = StringField(
        _l("Quality criterion"), filters=[strip_text], validators=[Optional(), Length(max=60)]
    )
    weight = IntegerField(_l("Weight"), validators=[Optional(), NumberRange(0, 100)])


class TenderForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    title = StringField(
        _l("Title"), filters=[strip_text], validators=[DataRequired(), Length(max=120)]
    )
    summary = TextAreaField(
        _l("Summary"), filters=[strip_text], validators=[DataRequired(), Length(max=500)]
    )
    scope = TextAreaField(
        _l("Scope"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=2000)],
        description=_l("What is to be delivered, where and for how long."),
    )
    body = TextAreaField(
        _l("Requirements"),
        validators=[Length(max=50_000)],
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…)."),
    )
    category = SelectField(_l("Category"), validators=[DataRequired()])
    budget_ceiling = StringField(
        _l("Budget ceiling (yuan, optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=20)],
    )
    budget_public = BooleanField(_l("Publish the budget ceiling"), default=True)
    verified_only = BooleanField(_l("Verified organisations only"), default=True)
    conditions = TextAreaField(
        _l("Further conditions (optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=2000)],
        description=_l("Bidders confirm that they meet them."),
    )
    price_weight = IntegerField(
        _l("Weight of the price (%)"), default=40, validators=[NumberRange(0, 100)]
    )
    criteria = FieldList(
        FormField(CriterionForm), min_entries=CRITERION_ROWS, max_entries=CRITERION_ROWS
    )
    enquiry_ends_at = DateTimeLocalField(
        _l("Enquiry period ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    bid_deadline_at = DateTimeLocalField(
        _l("Bid deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    opening_at = DateTimeLocalField(
        _l("Opening time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    standstill_days = IntegerField(
        _l("Standstill period (days)"), default=10, validators=[NumberRange(0, 60)]
    )
    panel = StringField(
        _l("Evaluation panel (usernames)"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=1000)],
        description=_l(
            "Separate usernames with commas. Each member receives a share of the opening key."
        ),
    )
    shares_needed = IntegerField(
        _l("Members needed to open the bids"), default=2, validators=[NumberRange(1, 15)]
    )
    save = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Publish"))


class QuestionForm(FlaskForm):
    question = TextAreaField(
        _l("Your question"), filters=[strip_text], validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Ask"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        _l("Answer"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Publish the answer"))


class BidForm(FlaskForm):
    price = StringField(
        _l("Price (yuan)"), filters=[strip_text], validators=[DataRequired(), Length(max=20)]
    )
    proposal = TextAreaField(
        _l("Technical proposal"),
        validators=[DataRequired(), Length(max=50_000)],
        description=_l("Markdown. Sealed with the price: nobody can read it before the opening."),
    )
    attachments = MultipleFileField(_l("Attachments (PDF, optional)"))
    conditions_confirmed = BooleanField(_l("We meet the further conditions"))
    submit = SubmitField(_l("Seal and submit the bid"))


class DeclareForm(FlaskForm):
    statement = TextAreaField(
        _l("Your statement"), filters=[strip_text], validators=[DataRequired(), Length(max=2000)]
    )
    declare = SubmitField(_l("Declare and stay on the panel"))
    recuse = SubmitField(_l("Declare and recuse myself"))


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason"), filters=[strip_text], validators=[DataRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Disqualify"))


class AwardForm(ConfirmForm):
    bid_id = SelectField(_l("Winning bid"), coerce=int, validators=[DataRequired()])
    justification = TextAreaField(
        _l("Justification"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Publish the award"))


class ChallengeForm(FlaskForm):
    text = TextAreaField(
        _l("Your challenge"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("File the challenge"))


class MessageForm(FlaskForm):
    text = TextAreaField(
        _l("Message"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Send"))


class DecideForm(FlaskForm):
    outcome = SelectField(
        _l("Decision"),
        choices=[("dismissed", _l("Dismiss")), ("upheld", _l("Uphold"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Reason (public)"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Decide"))


class MilestoneForm(Form):
    title = StringField(
        _l("Milestone"), filters=[strip_text], validators=[Optional(), Length(max=120)]
    )
    due = DateField(_l("Due on"), validators=[Optional()])


class ContractForm(FlaskForm):
    milestones = FieldList(
        FormField(MilestoneForm), min_entries=MILESTONE_ROWS, max_entries=MILESTONE_ROWS
    )
    submit = SubmitField(_l("Sign the contract"))


class ShareForm(FlaskForm):
    """A panel member's button to see their share code, once."""


class OpeningForm(FlaskForm):
    """The opening ceremony: the share codes typed by the members present."""

    codes = ValuesField(default=list)


class ScoreForm(FlaskForm):
    """A panel member's scores (the inputs are named after each bid and criterion)."""
