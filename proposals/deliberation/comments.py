"""Comments of a proposal's deliberation: post, reply, edit, delete, react; the page's thread.

Decisions worth knowing:

- A comment's `path` is the chain of its ancestors' ids and its own, each zero-padded
  to 10 digits and joined with "/", so ``ORDER BY path`` returns a whole thread in
  reading order (the fixed width makes the order independent of collation).
- Text is rendered and sanitised once, when written (`body_html` + `sanitizer_version`).
- Editing keeps the earlier text as a `CommentRevision` (with the time it was written).
- Deleting marks the comment (`deleted_at`); the text stays in the database, the page shows
  "comment deleted" in its place and its replies stay. A moderator's deletion is audited.
- Reacting to one's own comment is refused: the author's opinion is the comment itself, and
  self-agreement would skew the "most agreed" order and the opinion matrix.
- A second identical reaction is refused (nothing changes); a different one replaces it.
- `proposal.comment_count` counts comments that are not deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.forms import strip_text
from coord.i18n import KIND_LABELS
from coord.text import SANITIZER_VERSION, clean_text, render_markdown
from coord.web import MAX_ID
from proposals import lifecycle, services
from proposals import permissions as perm
from proposals.deliberation.models import (
    Comment,
    CommentReaction,
    CommentRevision,
    CommentStance,
    Reaction,
    Report,
)
from proposals.models import Proposal
from proposals.viewer import Viewer
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

#: Longest comment, in characters (after normalising the text).
MAX_LENGTH = 5000
#: Replies nest visually up to this depth, then continue flat with "in reply to".
MAX_NEST = 4
#: Deepest reply possible: `path` holds at most 90 segments of 11 characters.
MAX_DEPTH = 89

STANCE_LABELS = {
    CommentStance.SUPPORT: _l("Support"),
    CommentStance.OPPOSE: _l("Oppose"),
    CommentStance.NEUTRAL: _l("Neutral"),
    CommentStance.QUESTION: _l("Question"),
}
REACTION_LABELS = {
    Reaction.AGREE: _l("Agree"),
    Reaction.DISAGREE: _l("Disagree"),
    Reaction.PASS: _l("Pass"),
}
SORT_LABELS = {
    "oldest": _l("Oldest first"),
    "newest": _l("Newest first"),
    "agreed": _l("Most agreed"),
}
_COUNTERS = {
    Reaction.AGREE: "agree_count",
    Reaction.DISAGREE: "disagree_count",
    Reaction.PASS: "pass_count",
}


def _too_long_message(max: int = MAX_LENGTH) -> str:
    return _("A comment can have at most %(max)s characters.", max=format_number(max))


class CommentForm(FlaskForm):
    """A new comment, or a reply when `parent_id` is given."""

    stance = SelectField(
        _l("Your stance"),
        choices=[SelectChoice(s.value, label) for s, label in STANCE_LABELS.items()],
        default=CommentStance.NEUTRAL.value,
    )
    body = TextAreaField(
        _l("Comment"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Write your comment first.")),
            Length(max=MAX_LENGTH, message=_l("A comment can have at most 5,000 characters.")),
        ],
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…)."),
    )
    parent_id = IntegerField(
        widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    submit = SubmitField(_l("Post comment"))


class EditCommentForm(FlaskForm):
    """The new text of a comment."""

    body = TextAreaField(
        _l("Comment"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Write your comment first.")),
            Length(max=MAX_LENGTH, message=_l("A comment can have at most 5,000 characters.")),
        ],
    )
    submit = SubmitField(_l("Save changes"))


# --- rules -------------------------------------------------------------------------------


def participation_refusal(user: Any, proposal: Proposal) -> str | None:
    """Say why `user` may not take part in the discussion of `proposal` (None if they may)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return _("Sign in to take part in the discussion.")
    if perm.can_participate(user, proposal):
        return None
    return _refusal_for_visible(proposal)


def _refusal_for_visible(proposal: Proposal) -> str:
    if proposal.is_hidden:
        return _("This proposal is hidden by the moderators; its discussion is paused.")
    if not lifecycle.is_open_for_discussion(proposal.kind, proposal.status):
        return _("The discussion of this proposal is closed.")
    return _("You cannot take part in this discussion.")


def _check_participation(actor: Actor, proposal: Proposal) -> None:
    refusal = participation_refusal(actor.user, proposal)
    if refusal is not None:
        raise NotAllowed(refusal)


def _checked_body(value: Any) -> str:
    text = clean_text(value).strip() if isinstance(value, str) else ""
    if not text:
        raise DomainError(_("Write your comment first."), field="body")
    if len(text) > MAX_LENGTH:
        raise DomainError(_too_long_message(), field="body")
    return text


def _checked_stance(value: Any) -> CommentStance:
    if value in (None, ""):
        return CommentStance.NEUTRAL
    try:
        return CommentStance(value)
    except ValueError:
        raise DomainError(_("Choose a stance from the list."), field="stance") from None


def _checked_parent(proposal: Proposal, parent_id: Any) -> Comment | None:
    if parent_id in (None, "", 0):
        return None
    parent = (
        db.session.get(Comment, parent_id)
        if isinstance(parent_id, int) and 0 < parent_id <= MAX_ID
        else None
    )
    if parent is None or parent.proposal_id != proposal.id:
        raise DomainError(_("You can only reply to a comment on this proposal."))
    if parent.is_deleted:
        raise Conflict(_("This comment was deleted; it cannot be replied to."))
    if parent.is_hidden:
        raise Conflict(_("This comment is hidden by the moderators; it cannot be replied to."))
    if parent.depth >= MAX_DEPTH:
        raise Conflict(_("This thread is too deep; please reply to an earlier comment."))
    return parent


def _segment(comment_id: int) -> str:
    return f"{comment_id:010d}"


def _set_body(comment: Comment, text: str) -> None:
    html = render_markdown(text)
    if not html.strip():
        raise DomainError(_("Write your comment first."), field="body")
    comment.body_source = text
    comment.body_html = html
    comment.sanitizer_version = SANITIZER_VERSION


def _proposal_of(comment: Comment) -> Proposal:
    return db.session.get(Proposal, comment.proposal_id)


# --- use cases ---------------------------------------------------------------------------


def post_comment(actor: Actor, proposal: Proposal, data: dict[str, Any]) -> Comment:
    """Post a comment, or a reply to `data["parent_id"]`; the author follows the proposal."""
    _check_participation(actor, proposal)
    text = _checked_body(data.get("body"))
    stance = _checked_stance(data.get("stance"))
    parent = _checked_parent(proposal, data.get("parent_id"))
    comment = Comment(
        proposal_id=proposal.id,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        path="",
        user_id=actor.user.id,
        actor=actor.stakeholder,
        stance=stance,
    )
    _set_body(comment, text)
    db.session.add(comment)
    db.session.flush()
    own = _segment(comment.id)
    comment.path = f"{parent.path}/{own}" if parent else own
    proposal.comment_count = Proposal.comment_count + 1
    services.follow(actor, proposal)
    services.touch(proposal)
    db.session.flush()
    signals.comment_posted.send(comment, actor=actor)
    return comment


def edit_comment(actor: Actor, comment: Comment, body: Any) -> bool:
    """Change a comment's text, keeping the earlier text as a revision; False if unchanged."""
    if comment.user_id != actor.user.id:
        raise NotAllowed(_("Only its author can edit this comment."))
    if comment.is_deleted:
        raise Conflict(_("This comment was deleted."))
    if comment.is_hidden:
        raise Conflict(_("A comment hidden by the moderators cannot be edited."))
    proposal = _proposal_of(comment)
    _check_participation(actor, proposal)
    text = _checked_body(body)
    if text == comment.body_source:
        return False
    db.session.add(
        CommentRevision(
            comment_id=comment.id,
            body_source=comment.body_source,
            body_html=comment.body_html,
            created_at=comment.edited_at or comment.created_at,
        )
    )
    _set_body(comment, text)
    comment.edited_at = utcnow()
    services.touch(proposal)
    db.session.flush()
    return True


def can_delete(user: Any, comment: Comment, proposal: Proposal) -> bool:
    """The author, and the community's moderators, may delete a comment."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return comment.user_id == user.id or perm.can_moderate(user, proposal.community_id)


def delete_comment(actor: Actor, comment: Comment) -> None:
    """Mark a comment deleted (its replies stay); a moderator's deletion is audited publicly."""
    proposal = _proposal_of(comment)
    if not can_delete(actor.user, comment, proposal):
        raise NotAllowed(_("Only its author or a moderator can delete this comment."))
    if comment.is_deleted:
        raise Conflict(_("This comment was already deleted."))
    comment.deleted_at = utcnow()
    proposal.comment_count = Proposal.comment_count - 1
    if comment.user_id != actor.user.id:
        audit.record(
            "moderation.delete",
            "comment",
            comment.id,
            community_id=proposal.community_id,
            is_public=True,
            data={"proposal_id": proposal.id},
            **actor.audit_ids,
        )
    db.session.flush()


def _bump(comment: Comment, value: Reaction, delta: int) -> None:
    name = _COUNTERS[value]
    setattr(comment, name, getattr(Comment, name) + delta)


def react(actor: Actor, comment: Comment, value: Any) -> CommentReaction:
    """Agree, disagree or pass on a comment; a different reaction replaces the earlier one."""
    try:
        value = Reaction(value)
    except ValueError:
        raise DomainError(_("Choose agree, disagree or pass.")) from None
    _check_participation(actor, _proposal_of(comment))
    if comment.is_deleted or comment.is_hidden:
        raise Conflict(_("You cannot react to a deleted or hidden comment."))
    if comment.user_id == actor.user.id:
        raise NotAllowed(_("You cannot react to your own comment."))
    rv = db.session.scalar(
        sa.select(CommentReaction).where(
            CommentReaction.comment_id == comment.id, CommentReaction.user_id == actor.user.id
        )
    )
    if rv is not None and rv.value == value:
        raise Conflict(_("You have already reacted this way."))
    if rv is None:
        rv = CommentReaction(
            comment_id=comment.id,
            proposal_id=comment.proposal_id,
            user_id=actor.user.id,
            actor_id=actor.stakeholder.id,
            value=value,
        )
        try:
            with db.session.begin_nested():
                db.session.add(rv)
        except sa.exc.IntegrityError:
            raise Conflict(_("Your reaction was recorded a moment ago.")) from None
    else:
        _bump(comment, rv.value, -1)
        rv.value = value
        rv.actor_id = actor.stakeholder.id
        rv.updated_at = utcnow()
    _bump(comment, value, +1)
    db.session.flush()
    return rv


def revisions(comment: Comment) -> list[CommentRevision]:
    """Return the earlier texts of a comment, oldest first."""
    return list(
        db.session.scalars(
            sa.select(CommentRevision)
            .where(CommentRevision.comment_id == comment.id)
            .order_by(CommentRevision.id)
        )
    )


# --- the proposal page -------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One comment in display order, with what the page shows and offers for it."""

    comment: Comment
    level: int  # visual nesting level, 0..MAX_NEST
    opens: bool  # this row starts a nested list of replies
    closes: int  # nested lists to close before this row
    reply_to: Comment | None  # shown as "in reply to" once nesting is capped
    reaction: str | None  # the viewer's reaction
    reported: bool  # the viewer reported it
    is_own: bool
    can_edit: bool
    can_delete: bool
    can_react: bool
    can_reply: bool
    can_report: bool

    @property
    def score(self) -> int:
        return self.comment.agree_count - self.comment.disagree_count


def load_thread(proposal: Proposal) -> list[Comment]:
    """Load every comment of a proposal with its author stakeholder, in reading order."""
    return list(
        db.session.scalars(
            sa.select(Comment)
            .join(Stakeholder, Stakeholder.id == Comment.actor_id)
            .options(sa.orm.contains_eager(Comment.actor))
            .where(Comment.proposal_id == proposal.id)
            .order_by(Comment.path)
        )
    )


def sort_threads(comments: list[Comment], sort: str) -> list[Comment]:
    """Order top-level threads by `sort`; replies stay under their parent in reading order."""
    threads: dict[str, list[Comment]] = {}
    for comment in comments:
        threads.setdefault(comment.path[:10], []).append(comment)
    groups = list(threads.values())
    if sort == "newest":
        groups.reverse()
    elif sort == "agreed":
        groups.sort(key=lambda g: g[0].disagree_count - g[0].agree_count)
    return [c for group in groups for c in group]


def _viewer_marks(proposal: Proposal, viewer: Viewer) -> tuple[dict[int, str], set[int]]:
    """Return the viewer's reactions and the comments they reported, in one query."""
    if viewer.user is None:
        return {}, set()
    marks = sa.union_all(
        sa.select(
            CommentReaction.comment_id.label("comment_id"),
            sa.type_coerce(CommentReaction.value, sa.String(24)).label("mark"),
        ).where(
            CommentReaction.proposal_id == proposal.id,
            CommentReaction.user_id == viewer.user.id,
        ),
        sa.select(
            Report.target_id.label("comment_id"), sa.literal("reported", sa.String(24))
        ).where(
            Report.proposal_id == proposal.id,
            Report.target_type == "comment",
            Report.user_id == viewer.user.id,
        ),
    )
    reactions: dict[int, str] = {}
    reported: set[int] = set()
    for comment_id, mark in db.session.execute(marks):
        if mark == "reported":
            reported.add(comment_id)
        else:
            reactions[comment_id] = mark
    return reactions, reported


def build_rows(
    comments: list[Comment],
    viewer: Viewer,
    reactions: dict[int, str],
    reported: set[int],
) -> list[Row]:
    """Turn comments in display order into rows with nesting and the viewer's options."""
    by_id = {c.id: c for c in comments}
    user_id = viewer.user.id if viewer.user is not None else None
    rows: list[Row] = []
    previous = -1
    for c in comments:
        level = min(c.depth, MAX_NEST)
        opens = previous >= 0 and level > previous
        closes = previous - level if previous >= 0 and level < previous else 0
        previous = level
        live = not c.is_deleted and not c.is_hidden
        own = user_id is not None and c.user_id == user_id
        rows.append(
            Row(
                comment=c,
                level=level,
                opens=opens,
                closes=closes,
                reply_to=by_id.get(c.parent_id) if c.depth > MAX_NEST else None,
                reaction=reactions.get(c.id),
                reported=c.id in reported,
                is_own=own,
                can_edit=own and live and viewer.can_participate,
                can_delete=not c.is_deleted and (own or viewer.can_moderate),
                can_react=live and not own and viewer.can_participate,
                can_reply=live and viewer.can_participate and c.depth < MAX_DEPTH,
                can_report=live and not own and user_id is not None and c.id not in reported,
            )
        )
    return rows


def page_context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the proposal page needs from this part, in a fixed number of queries.

    Keys (all prefixed, so that they can be merged with other parts' contexts):
    `comment_rows` (list of `Row` in display order), `comment_tail` (nested lists still
    open after the last row), `comment_sort` and `comment_sorts` (current key and
    (key, label) choices), `comment_total` (rows shown, deleted included), `comment_count`
    (live comments), `comment_stances` ((value, label) choices), `comment_stance_counts`,
    `comment_form` (a `CommentForm`, or None when the viewer cannot post),
    `comment_refusal` (why not, or None), `comment_max_length`, `comment_can_moderate`,
    `comment_kind_labels` (stakeholder kind → translated label).
    """
    sort = args.get("sort") if args is not None else None
    sort = sort if sort in SORT_LABELS else "oldest"
    comments = sort_threads(load_thread(proposal), sort)
    reactions, reported = _viewer_marks(proposal, viewer)
    rows = build_rows(comments, viewer, reactions, reported)
    stance_counts = dict.fromkeys((s.value for s in CommentStance), 0)
    live = 0
    for c in comments:
        if not c.is_deleted:
            live += 1
            if not c.is_hidden:
                stance_counts[CommentStance(c.stance).value] += 1
    refusal = None
    if not viewer.can_participate:
        refusal = (
            _("Sign in to take part in the discussion.")
            if viewer.user is None
            else _refusal_for_visible(proposal)
        )
    return {
        "comment_rows": rows,
        "comment_tail": rows[-1].level if rows else 0,
        "comment_sort": sort,
        "comment_sorts": [(key, str(label)) for key, label in SORT_LABELS.items()],
        "comment_total": len(rows),
        "comment_count": live,
        "comment_stances": [(s.value, str(label)) for s, label in STANCE_LABELS.items()],
        "comment_stance_counts": stance_counts,
        "comment_form": CommentForm(formdata=None) if viewer.can_participate else None,
        "comment_refusal": refusal,
        "comment_max_length": MAX_LENGTH,
        "comment_can_moderate": viewer.can_moderate,
        "comment_kind_labels": {key: str(label) for key, label in KIND_LABELS.items()},
    }
