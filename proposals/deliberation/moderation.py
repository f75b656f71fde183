"""Moderation: report comments and proposals, hide them with a public reason, dismiss reports.

Decisions worth knowing:

- Anyone signed in who can see an item may report it once (unique per user and item);
  reporting one's own item, a deleted comment or an item already hidden is refused.
- An item with `AUTO_HIDE_AT` open reports is hidden at once with
  `proposals.hiding.AUTO_HIDE_REASON`
  (stored in English, translated when shown) until a moderator reviews it.
- Hiding never deletes: the text stays in the database and moderators still see it; the
  page shows the public reason in its place. Hiding upholds every open report of the
  item; dismissing dismisses them and lifts an automatic hide (not a moderator's hide).
- Every moderation action is a public audit event whose data holds ids only.
- A comment signed "as a resident of building 3" shows that label in the queue too; a
  moderator who needs the author asks for it (`reveal_author`, a POST), which records a
  `personal_data.read` event, like any reading of a resident's personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Signature
from coord.text import clean_text
from coord.web import MAX_ID
from proposals import permissions as perm
from proposals.deliberation import signatures
from proposals.deliberation.models import Comment, Report, ReportStatus
from proposals.hiding import AUTO_HIDE_REASON
from proposals.models import Proposal
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

#: Open reports that hide an item until a moderator reviews it.
AUTO_HIDE_AT = 3
TARGET_TYPES = ("comment", "proposal")
MAX_REPORT_REASON = 500
MAX_HIDE_REASON = 300

Target = Comment | Proposal


def load_target(target_type: Any, target_id: Any) -> tuple[Target, Proposal] | None:
    """Return a reportable item and its proposal, or None when there is no such item."""
    if target_type not in TARGET_TYPES or not isinstance(target_id, int):
        return None
    if not 0 < target_id <= MAX_ID:
        return None
    if target_type == "proposal":
        proposal = db.session.get(Proposal, target_id)
        return (proposal, proposal) if proposal is not None else None
    comment = db.session.get(Comment, target_id)
    return (comment, db.session.get(Proposal, comment.proposal_id)) if comment else None


def _type_of(target: Target) -> str:
    return "comment" if isinstance(target, Comment) else "proposal"


def _is_own(user: Any, target: Target, proposal: Proposal) -> bool:
    if isinstance(target, Comment):
        return target.user_id == user.id
    return proposal.created_by_id == user.id


def _checked_reason(value: Any, limit: int, empty: str) -> str:
    text = clean_text(value).strip() if isinstance(value, str) else ""
    if not text:
        raise DomainError(empty, field="reason")
    if len(text) > limit:
        raise DomainError(
            _("A reason can have at most %(max)d characters.", max=limit), field="reason"
        )
    return text


def report_item(actor: Actor, target: Target, proposal: Proposal, reason: Any) -> Report:
    """Report a comment or proposal to the community's moderators (once per user and item)."""
    user = actor.user
    if not perm.can_view(user, proposal):
        raise NotAllowed(_("You cannot see this item."), status=404)
    text = _checked_reason(value=reason, limit=MAX_REPORT_REASON, empty=_("Say what is wrong."))
    if isinstance(target, Comment) and target.is_deleted:
        raise Conflict(_("This comment was deleted."))
    if target.is_hidden:
        raise Conflict(_("This item is already hidden."))
    if _is_own(user, target, proposal):
        raise NotAllowed(_("You cannot report your own contribution."))
    target_type = _type_of(target)
    exists = db.session.scalar(
        sa.select(Report.id).where(
            Report.target_type == target_type,
            Report.target_id == target.id,
            Report.user_id == user.id,
        )
    )
    if exists is not None:
        raise Conflict(_("You have already reported this."))
    rv = Report(
        target_type=target_type,
        target_id=target.id,
        proposal_id=proposal.id,
        community_id=proposal.community_id,
        user_id=user.id,
        reason=text,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rv)
    except sa.exc.IntegrityError:
        raise Conflict(_("You have already reported this.")) from None
    target.open_reports = type(target).open_reports + 1
    db.session.flush()
    audit.record(
        "moderation.report",
        target_type,
        target.id,
        community_id=proposal.community_id,
        data={"report_id": rv.id, "proposal_id": proposal.id},
        **actor.audit_ids,
    )
    if target.open_reports >= AUTO_HIDE_AT:
        target.hidden_reason = AUTO_HIDE_REASON
        audit.record(
            "moderation.auto_hide",
            target_type,
            target.id,
            community_id=proposal.community_id,
            is_public=True,
            data={"proposal_id": proposal.id, "open_reports": target.open_reports},
        )
    return rv


def _open_reports(report: Report) -> list[Report]:
    return list(
        db.session.scalars(
            sa.select(Report)
            .where(
                Report.target_type == report.target_type,
                Report.target_id == report.target_id,
                Report.status == ReportStatus.OPEN,
            )
            .order_by(Report.id)
        )
    )


def _handle(actor: Actor, report: Report, status: ReportStatus) -> tuple[Target, list[Report]]:
    if not perm.can_moderate(actor.user, report.community_id):
        raise NotAllowed(_("Only the residents committee of this community moderates it."))
    if report.status != ReportStatus.OPEN:
        raise Conflict(_("This report was already handled."))
    loaded = load_target(report.target_type, report.target_id)
    if loaded is None:
        raise Conflict(_("The reported item no longer exists."))
    target, _proposal = loaded
    handled = _open_reports(report)
    now = utcnow()
    for r in handled:
        r.status, r.handled_by_id, r.handled_at = status, actor.user.id, now
    target.open_reports = 0
    return target, handled


def _finish(actor: Actor, action: str, report: Report, handled: list[Report]) -> None:
    audit.record(
        action,
        report.target_type,
        report.target_id,
        community_id=report.community_id,
        is_public=True,
        data={"proposal_id": report.proposal_id, "report_ids": [r.id for r in handled]},
        **actor.audit_ids,
    )
    db.session.flush()
    for r in handled:
        signals.report_handled.send(r, actor=actor)


def reveal_author(actor: Actor, report: Report) -> Stakeholder:
    """Tell a moderator who wrote a reported comment signed by building; audit the reading."""
    if not perm.can_moderate(actor.user, report.community_id):
        raise NotAllowed(_("Only the residents committee of this community moderates it."))
    comment = db.session.get(Comment, report.target_id) if report.target_type == "comment" else None
    mode = signatures.current_mode(comment.proposal_id, comment.actor_id) if comment else None
    if mode != Signature.RESIDENT:
        raise Conflict(_("Only a comment signed as a resident hides its author."))
    audit.record(
        "personal_data.read",
        "stakeholder",
        comment.actor_id,
        community_id=report.community_id,
        data={"reason": "moderation", "report_id": report.id, "comment_id": comment.id},
        **actor.audit_ids,
    )
    return comment.actor


def hide_item(actor: Actor, report: Report, reason: Any) -> Target:
    """Hide the reported item with a public reason and uphold all its open reports."""
    text = _checked_reason(
        value=reason, limit=MAX_HIDE_REASON, empty=_("Give the public reason for hiding it.")
    )
    target, handled = _handle(actor, report, ReportStatus.UPHELD)
    target.hidden_reason = text
    _finish(actor, "moderation.hide", report, handled)
    return target


def dismiss_reports(actor: Actor, report: Report) -> Target:
    """Dismiss all open reports of the item; lift a hide that was pending this review."""
    target, handled = _handle(actor, report, ReportStatus.DISMISSED)
    if target.hidden_reason == AUTO_HIDE_REASON:
        target.hidden_reason = None
    _finish(actor, "moderation.dismiss", report, handled)
    return target


@dataclass
class QueueItem:
    """A reported item with its open reports, as the moderation queue shows it."""

    target_type: str
    target: Target
    proposal: Proposal
    reports: list[Report] = field(default_factory=list)
    signed: signatures.SignedAs | None = None  # a comment's label when signed by building

    @property
    def first(self) -> Report:
        return self.reports[0]


def queue(community_id: int) -> list[QueueItem]:
    """Return the items with open reports in a community, oldest report first (4 queries)."""
    rows = db.session.execute(
        sa.select(Report, Proposal)
        .join(Proposal, Proposal.id == Report.proposal_id)
        .options(sa.orm.joinedload(Proposal.author))
        .where(Report.community_id == community_id, Report.status == ReportStatus.OPEN)
        .order_by(Report.id)
        .limit(1000)
    ).all()
    comment_ids = {r.target_id for r, _p in rows if r.target_type == "comment"}
    comments = {}
    if comment_ids:
        comments = {
            c.id: c
            for c in db.session.scalars(
                sa.select(Comment)
                .join(Stakeholder, Stakeholder.id == Comment.actor_id)
                .options(sa.orm.contains_eager(Comment.actor))
                .where(Comment.id.in_(comment_ids))
            )
        }
    items: dict[tuple[str, int], QueueItem] = {}
    for report, proposal in rows:
        target = comments.get(report.target_id) if report.target_type == "comment" else proposal
        if target is None:
            continue
        key = (report.target_type, report.target_id)
        if key not in items:
            items[key] = QueueItem(report.target_type, target, proposal)
        items[key].reports.append(report)
    labels = signatures.labels_for_pairs((c.proposal_id, c.actor_id) for c in comments.values())
    for item in items.values():
        if isinstance(item.target, Comment):
            item.signed = labels.get((item.target.proposal_id, item.target.actor_id))
    return list(items.values())
