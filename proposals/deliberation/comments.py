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

from typing import Any

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.text import SANITIZER_VERSION, clean_text, render_markdown
from coord.web import MAX_ID
from proposals import lifecycle, services
from proposals import permissions as perm
from proposals.deliberation import signatures
from proposals.deliberation.models import (
    Comment,
    CommentReaction,
    CommentRevision,
    CommentStance,
    Reaction,
)
from proposals.deliberation.permissions import can_delete
from proposals.models import Proposal
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


# --- rules -------------------------------------------------------------------------------


def participation_refusal(user: Any, proposal: Proposal) -> str | None:
    """Say why `user` may not take part in the discussion of `proposal` (None if they may)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return _("Sign in to take part in the discussion.")
    if perm.can_participate(user, proposal):
        return None
    return closed_reason(proposal)


def closed_reason(proposal: Proposal) -> str:
    """Say why a user who sees `proposal` may not take part in its discussion."""
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
    """Post a comment, or a reply to `data["parent_id"]`, signed as `data["signature"]`
    asks (see `signatures.sign`); the author follows the proposal."""
    _check_participation(actor, proposal)
    text = _checked_body(data.get("body"))
    stance = _checked_stance(data.get("stance"))
    parent = _checked_parent(proposal, data.get("parent_id"))
    signatures.sign(actor, proposal, data.get("signature"))
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
