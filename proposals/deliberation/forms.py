"""The deliberation's forms: comments, reports and hiding, positions, amendments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
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
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from coord.forms import strip_text
from coord.web import MAX_ID
from proposals.deliberation import amendments, attribution, comments, moderation, positions
from proposals.deliberation.models import CommentStance, PositionStance
from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.vocabulary import INTERESTS

# -- Signatures -------------------------------------------------------------------------------


def _signature() -> SelectField:
    """How a resident signs (views replace the labels with the resident's own, and remove the
    field for organisations)."""
    return SelectField(
        _l("Sign as"), choices=list(attribution.MODES), validators=[Optional()], default=""
    )


# -- Comments ---------------------------------------------------------------------------------


def _comment_body(**options) -> TextAreaField:
    return TextAreaField(
        _l("Comment"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Write your comment first.")),
            Length(
                max=comments.MAX_LENGTH,
                message=_l("A comment can have at most 5,000 characters."),
            ),
        ],
        **options,
    )


class CommentForm(FlaskForm):
    """A new comment, or a reply when `parent_id` is given."""

    stance = SelectField(
        _l("Your stance"),
        choices=[SelectChoice(s.value, label) for s, label in comments.STANCE_LABELS.items()],
        default=CommentStance.NEUTRAL.value,
    )
    body = _comment_body(
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…).")
    )
    parent_id = IntegerField(
        widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    signature = _signature()
    submit = SubmitField(_l("Post comment"))


class EditCommentForm(FlaskForm):
    """The new text of a comment."""

    body = _comment_body()
    submit = SubmitField(_l("Save changes"))


# -- Moderation -------------------------------------------------------------------------------


class ReportForm(FlaskForm):
    """A report of a comment or proposal to the community's moderators."""

    target_type = SelectField(
        _l("What"),
        choices=[SelectChoice("comment", _l("Comment")), SelectChoice("proposal", _l("Proposal"))],
        validators=[InputRequired()],
    )
    target_id = IntegerField(
        _l("Number"),
        validators=[
            InputRequired(message=_l("Say which item you report.")),
            NumberRange(min=1, max=MAX_ID),
        ],
    )
    reason = TextAreaField(
        _l("What is wrong?"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Say what is wrong.")),
            Length(
                max=moderation.MAX_REPORT_REASON,
                message=_l("A reason can have at most 500 characters."),
            ),
        ],
    )
    submit = SubmitField(_l("Report"))


class HideForm(FlaskForm):
    """The public reason for hiding a reported item."""

    reason = StringField(
        _l("Public reason"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Give the public reason for hiding it.")),
            Length(
                max=moderation.MAX_HIDE_REASON,
                message=_l("A reason can have at most 300 characters."),
            ),
        ],
        description=_l("Shown to everyone in place of the hidden item."),
    )
    submit = SubmitField(_l("Hide"))


# -- Positions --------------------------------------------------------------------------------


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PositionForm(FlaskForm):
    """Where the acting stakeholder stands, why, and on what conditions."""

    acting_as = HiddenField()
    stance = RadioField(
        _l("Where do you stand?"),
        choices=[SelectChoice(s.value, _l(STANCE_LABELS[s.value])) for s in PositionStance],
        validators=[InputRequired(message=_l("Choose where you stand."))],
    )
    conditions = TextAreaField(
        _l("Your conditions"),
        filters=[strip_text],
        validators=[Length(max=positions.MAX_CONDITIONS)],
        description=_l(
            "For conditional support: on which conditions would you support it? "
            "E.g. “support if construction avoids 22:00–07:00”."
        ),
    )
    condition_amendment_id = SelectField(
        _l("An amendment that would meet your conditions"), coerce=int, validators=[Optional()]
    )
    interests = CheckboxesField(
        _l("Interests at stake"),
        choices=[SelectChoice(k, _l(v)) for k, v in INTERESTS.items()],
        validators=[Optional()],
    )
    tags = StringField(
        _l("Other interests (tags)"),
        filters=[strip_text],
        validators=[Length(max=200)],
        description=_l(
            "Up to %(n)d short tags separated by commas, each at most %(m)d characters.",
            n=positions.MAX_TAGS,
            m=positions.MAX_TAG_LENGTH,
        ),
    )
    statement = TextAreaField(
        _l("Statement"),
        filters=[strip_text],
        validators=[Length(max=positions.MAX_STATEMENT)],
        description=_l("Why you take this position (plain text)."),
    )
    signature = _signature()
    submit = SubmitField(_l("Save my position"))


# -- Amendments -------------------------------------------------------------------------------


class AmendmentForm(FlaskForm):
    """A proposed new title and text against a version, with its rationale."""

    acting_as = HiddenField()
    base_version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    title = StringField(
        _l("Title"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=amendments.MAX_TITLE)],
    )
    body = TextAreaField(
        _l("Proposed text"),
        validators=[Length(max=amendments.MAX_BODY)],
        description=_l("Edit the current text as you would like it to read (Markdown)."),
    )
    rationale = TextAreaField(
        _l("Rationale"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=amendments.MAX_RATIONALE)],
        description=_l("Why should the text change? Which concerns does it answer?"),
    )
    signature = _signature()
    submit = SubmitField(_l("Propose the amendment"))


class AcceptForm(FlaskForm):
    """The owner's resolved text when accepting an amendment."""

    acting_as = HiddenField()
    version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    title = StringField(
        _l("Resolved title"), filters=[strip_text], validators=[Length(max=amendments.MAX_TITLE)]
    )
    body = TextAreaField(
        _l("Resolved text"),
        validators=[Length(max=amendments.MAX_BODY + 2000)],
        description=_l(
            "Between <<<<<<< and ======= stands the current text, between ======= and "
            ">>>>>>> the amendment. Keep what should stay and delete the marker lines."
        ),
    )
    note = StringField(
        _l("Note (optional)"),
        filters=[strip_text],
        validators=[Length(max=amendments.MAX_REASON)],
    )
    submit = SubmitField(_l("Accept the amendment"))


class RejectForm(FlaskForm):
    """The owner's reason for rejecting an amendment."""

    acting_as = HiddenField()
    reason = TextAreaField(
        _l("Reason for rejecting"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Give a reason for the rejection.")),
            Length(max=amendments.MAX_REASON),
        ],
    )
    submit = SubmitField(_l("Reject the amendment"))
