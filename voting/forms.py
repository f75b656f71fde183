"""Forms of the poll pages: open or edit a poll, extend it, close it early."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from coord.forms import strip_text
from coord.i18n import KIND_LABELS
from voting import settings

METHOD_LABELS = {
    "yes_no": _l("Yes / no"),
    "plurality": _l("Plurality (one choice)"),
    "approval": _l("Approval (tick every acceptable option)"),
    "score": _l("Score (rate every option)"),
    "borda": _l("Borda count (ranking)"),
    "schulze": _l("Schulze (ranking, Condorcet)"),
    "irv": _l("Instant runoff (ranking)"),
    "stv": _l("Single transferable vote (ranking, several seats)"),
}
# The open-poll form starts from the committee's question, then offers the methods that answer
# it, recommended one first, each explained in a line; the method's own name comes second.
METHOD_QUESTIONS = [
    (
        _l("Agree or not?"),
        [("yes_no", _l("Everyone answers yes or no; it carries if enough say yes."))],
    ),
    (
        _l("Pick one option"),
        [
            ("plurality", _l("Everyone picks one option; the option with the most votes wins.")),
            (
                "irv",
                _l(
                    "Everyone puts options in order; the least supported is dropped round by "
                    "round until one has more than half."
                ),
            ),
            ("approval", _l("Everyone ticks every option they can live with; most ticks wins.")),
            ("score", _l("Everyone gives each option a score; the highest average wins.")),
        ],
    ),
    (
        _l("Elect several representatives"),
        [
            (
                "stv",
                _l(
                    "Everyone puts candidates in order; the seats are shared out so that "
                    "larger groups of voters get more of them."
                ),
            )
        ],
    ),
    (
        _l("Put options in order of priority"),
        [
            ("borda", _l("Everyone puts options in order; points by place give the order.")),
            (
                "schulze",
                _l(
                    "Everyone puts options in order; the order follows which option beats "
                    "which, one against one."
                ),
            ),
        ],
    ),
]
THRESHOLD_LABELS = {
    "simple": _l("Simple majority (more than half)"),
    "two_thirds": _l("Two thirds"),
    "three_quarters": _l("Three quarters"),
}
BASE_LABELS = {
    "cast_excluding_abstentions": _l("Yes and no votes (abstentions not counted)"),
    "all_cast": _l("All ballots cast, abstentions included"),
}
UNIT_LABELS = {
    "person": _l("Persons: every eligible resident votes once"),
    "organisation": _l(
        "Stakeholders: every organisation votes once through an admin or delegate; "
        "residents vote as themselves"
    ),
}
RULE_LABELS = {
    "pooled": _l("Pooled: one voter, one vote"),
    "weighted": _l("Weighted: each kind counts for a fixed share"),
    "concurrent": _l("Concurrent majority: yes must carry in every kind (or in at least k kinds)"),
}
TIME_FORMAT = "%Y-%m-%dT%H:%M"


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _percent(label):
    return IntegerField(label, validators=[Optional(), NumberRange(0, 100)])


class PollForm(FlaskForm):
    acting_as = HiddenField()
    title = StringField(
        _l("Title"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=settings.MAX_TITLE)],
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip_text],
        validators=[Length(max=settings.MAX_DESCRIPTION)],
        description=_l("What is decided, and what happens with the result (plain text)."),
    )
    method = SelectField(
        _l("What should the vote decide?"),
        choices=[SelectChoice(k, v) for k, v in METHOD_LABELS.items()],
        default="yes_no",
    )
    options = TextAreaField(
        _l("Options"),
        filters=[strip_text],
        description=_l(
            "One option per line, %(low)d to %(high)d, each at most %(n)d characters.",
            low=settings.MIN_OPTIONS,
            high=settings.MAX_OPTIONS,
            n=settings.MAX_LABEL,
        ),
    )
    allow_abstain = BooleanField(_l("Offer “abstain”"), default=True)
    threshold = SelectField(
        _l("Threshold"), choices=[SelectChoice(k, v) for k, v in THRESHOLD_LABELS.items()]
    )
    base = SelectField(
        _l("The threshold is measured against"),
        choices=[SelectChoice(k, v) for k, v in BASE_LABELS.items()],
    )
    min_selections = IntegerField(
        _l("Fewest options a voter must tick"), validators=[Optional(), NumberRange(0, 20)]
    )
    max_selections = IntegerField(
        _l("Most options a voter may tick"), validators=[Optional(), NumberRange(1, 20)]
    )
    max_score = IntegerField(
        _l("Highest score"),
        default=5,
        validators=[Optional(), NumberRange(1, settings.MAX_SCORE_LIMIT)],
    )
    seats = IntegerField(
        _l("Seats to fill"), default=1, validators=[Optional(), NumberRange(1, 19)]
    )
    unit = RadioField(
        _l("Who votes"),
        choices=[SelectChoice(k, v) for k, v in UNIT_LABELS.items()],
        default="person",
        validators=[InputRequired()],
    )
    kinds = CheckboxesField(
        _l("Stakeholder kinds that may vote"),
        choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
        default=["resident"],
        description=_l("Used when stakeholders vote; persons are always residents."),
    )
    community_only = BooleanField(_l("Only stakeholders of this community"), default=True)
    verified_only = BooleanField(_l("Only verified residents"), default=True)
    invited = CheckboxesField(
        _l("Or only these invited stakeholders"),
        coerce=int,
        validators=[Optional()],
        description=_l("Leave empty to let everyone eligible above vote."),
    )
    rule = RadioField(
        _l("How the stakeholder kinds count"),
        choices=[SelectChoice(k, v) for k, v in RULE_LABELS.items()],
        default="pooled",
        validators=[InputRequired()],
    )
    share_government = _percent(_l("Government share (%)"))
    share_business = _percent(_l("Business share (%)"))
    share_social_organization = _percent(_l("Social organisation share (%)"))
    share_resident = _percent(_l("Resident share (%)"))
    min_groups = IntegerField(
        _l("Carry in at least this many kinds (empty: every kind that voted)"),
        validators=[Optional(), NumberRange(1, 4)],
    )
    quorum = _percent(_l("Quorum: turnout needed overall (%)"))
    quorum_government = _percent(_l("Government turnout needed (%)"))
    quorum_business = _percent(_l("Business turnout needed (%)"))
    quorum_social_organization = _percent(_l("Social organisation turnout needed (%)"))
    quorum_resident = _percent(_l("Resident turnout needed (%)"))
    secret = BooleanField(
        _l("Secret ballot"),
        description=_l(
            "Ballots are stored without the voter; each voter gets a receipt code; results "
            "are shown only after the close."
        ),
    )
    live_results = BooleanField(_l("Show results while the poll is open (open ballots only)"))
    opens_at = DateTimeLocalField(
        _l("Opens at"),
        format=TIME_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to open now. Local time."),
    )
    closes_at = DateTimeLocalField(
        _l("Closes at"),
        format=TIME_FORMAT,
        validators=[InputRequired(message=_l("Give a closing time."))],
        description=_l("Local time."),
    )
    submit = SubmitField(_l("Open the poll"))

    # The services name the per-kind settings as a whole; their refusals show on the first field.
    @property
    def shares(self) -> IntegerField:
        """Where a refusal of the shares (field "shares") is shown."""
        return self.share_resident

    @property
    def kind_quorum(self) -> IntegerField:
        """Where a refusal of the per-kind quorums (field "kind_quorum") is shown."""
        return self.quorum_resident


class ExtendForm(FlaskForm):
    closes_at = DateTimeLocalField(
        _l("New closing time"),
        format=TIME_FORMAT,
        validators=[InputRequired(message=_l("Give the new closing time."))],
    )
    reason = StringField(
        _l("Reason for the extension"),
        filters=[strip_text],
        validators=[DataRequired(message=_l("Give a reason.")), Length(max=500)],
    )
    submit = SubmitField(_l("Extend the poll"))


class CloseForm(FlaskForm):
    """End a poll early: a reason everyone will read, and a confirmation (it cannot be undone)."""

    reason = StringField(
        _l("Reason for closing now"),
        filters=[strip_text],
        validators=[DataRequired(message=_l("Give a reason.")), Length(max=500)],
    )
    confirm = BooleanField(
        _l("Yes, end the vote now: nobody can vote after this, and it cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Close the poll now"))


class BallotForm(FlaskForm):
    """A ballot's refusals: the choice itself is read from the method's own fields."""

    acting_as = HiddenField()
    choice = HiddenField()
    reason = StringField()
