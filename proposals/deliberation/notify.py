"""Who hears about the deliberation of a proposal: replies and comments, positions,
decisions on amendments, handled reports, and (for the moderators) new conflicts among
its stakeholders (signal receivers, connected by `init_app`).

Recipients and messages follow `proposals.notify`: one query for the recipients, one
INSERT for the notifications, stakeholders and titles only. A resident who signed the
proposal as a resident of their building is named by that label (`author_param`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from coord.db import db
from coord.models import User
from coord.notifications import N_, Note, notify, register_kind, stakeholder_ref, translatable
from proposals import lifecycle
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    Comment,
    CommentReaction,
    Position,
    Report,
    ReportStatus,
)
from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.deliberation.signatures import author_param
from proposals.models import Proposal
from proposals.notify import params_of, proposal_url, recipients
from stakeholders.acting import Actor
from stakeholders.models import Function, Membership, MembershipStatus, Stakeholder
from stakeholders.network import services as network_service

REPLY, COMMENT, POSITION, AMENDMENT, REPORT, ALERT = (
    "reply",
    "comment",
    "position",
    "amendment",
    "report",
    "network_alert",
)

register_kind(REPLY, N_("Replies to my comments"))
register_kind(COMMENT, N_("New comments on proposals I follow"))
register_kind(POSITION, N_("New positions on proposals I follow"))
register_kind(AMENDMENT, N_("Decisions on amendments"))
register_kind(REPORT, N_("Reports I filed that were handled"))
register_kind(ALERT, N_("New conflicts among the stakeholders of proposals I moderate"))

MESSAGES = {
    "reply": N_("%(name)s replied to your comment on “%(title)s”."),
    "comment": N_("%(name)s commented on “%(title)s”."),
    "position": N_("%(name)s declared a position on “%(title)s”: %(stance)s."),
    "amendment_accepted_own": N_(
        "%(name)s accepted your amendment “%(amendment)s” to “%(title)s”."
    ),
    "amendment_rejected_own": N_(
        "%(name)s rejected your amendment “%(amendment)s” to “%(title)s”."
    ),
    "amendment_accepted": N_("%(name)s accepted the amendment “%(amendment)s” to “%(title)s”."),
    "amendment_rejected": N_("%(name)s rejected the amendment “%(amendment)s” to “%(title)s”."),
    "report_upheld_proposal": N_("Your report about “%(title)s” was upheld: it is now hidden."),
    "report_dismissed_proposal": N_("Your report about “%(title)s” was reviewed and dismissed."),
    "report_upheld_comment": N_(
        "Your report about a comment on “%(title)s” was upheld: the comment is now hidden."
    ),
    "report_dismissed_comment": N_(
        "Your report about a comment on “%(title)s” was reviewed and dismissed."
    ),
}

ALERT_CONFLICT = N_("New conflict on “%(title)s”: %(a)s and %(b)s.")
ALERT_TRIAD = N_(
    "Strained alliance on “%(title)s”: %(b)s and %(c)s are in conflict; %(m)s has ties to both."
)

_NOTIFIED_REPORTS = "coord_notified_reports"


def on_comment_posted(comment: Comment, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the parent comment's author of a reply, and the followers of a new comment."""
    proposal = db.session.get(Proposal, comment.proposal_id)
    if proposal is None:
        return
    parent = db.session.get(Comment, comment.parent_id) if comment.parent_id else None
    parent_author = parent.user_id if parent is not None and not parent.is_deleted else None
    params = params_of(proposal, name=author_param(proposal.id, comment.actor_id))
    url = proposal_url(proposal.id, f"comment-{comment.id}" if comment.id else None)
    notes = []
    for user in recipients(proposal, user_ids=[parent_author], actor=actor):
        if user.id == parent_author:
            notes.append(Note(user, REPLY, MESSAGES["reply"], params, url))
        else:
            notes.append(Note(user, COMMENT, MESSAGES["comment"], params, url))
    notify(notes)


def _author_user_ids(proposal: Proposal) -> list[int | None]:
    author = proposal.author
    return [proposal.created_by_id, author.user_id if author is not None else None]


def on_position_declared(position: Position, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the proposal's author and followers of a declared or changed position."""
    proposal = db.session.get(Proposal, position.proposal_id)
    if proposal is None:
        return
    stance = getattr(position.stance, "value", position.stance)
    params = params_of(
        proposal,
        name=author_param(proposal.id, position.stakeholder_id),
        stance=translatable(STANCE_LABELS.get(stance, stance)),
    )
    url = proposal_url(proposal.id, "positions")
    users = recipients(proposal, user_ids=_author_user_ids(proposal), actor=actor)
    notify(Note(user, POSITION, MESSAGES["position"], params, url) for user in users)


def on_amendment_decided(amendment: Amendment, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the amendment's author, the proposal's author and the followers of a decision."""
    if amendment.status not in (AmendmentStatus.ACCEPTED, AmendmentStatus.REJECTED):
        return
    proposal = db.session.get(Proposal, amendment.proposal_id)
    if proposal is None:
        return
    outcome = "accepted" if amendment.status == AmendmentStatus.ACCEPTED else "rejected"
    own, other = MESSAGES[f"amendment_{outcome}_own"], MESSAGES[f"amendment_{outcome}"]
    decider = actor.stakeholder.id if actor is not None else None
    params = params_of(
        proposal, name=stakeholder_ref(decider) if decider else "", amendment=amendment.title
    )
    url = proposal_url(proposal.id, f"amendment-{amendment.id}")
    users = recipients(
        proposal, user_ids=[amendment.user_id, *_author_user_ids(proposal)], actor=actor
    )
    notify(
        Note(user, AMENDMENT, own if user.id == amendment.user_id else other, params, url)
        for user in users
    )


#: Reports of one item handled this close together count as handled in one go.
_SAME_HANDLING = timedelta(minutes=1)


def on_report_handled(report: Report, actor: Actor | None = None, **extra: Any) -> None:
    """Tell everyone whose report on the item was just handled how it was handled.

    Moderation may send this once per item or once per report: each report is told once
    per transaction; reports handled earlier (in another handling) are not told again.
    """
    if report.status not in (ReportStatus.UPHELD, ReportStatus.DISMISSED):
        return
    proposal = db.session.get(Proposal, report.proposal_id)
    if proposal is None:
        return
    if report.handled_at is None:
        rows = [(report.id, report.user_id)]
    else:
        rows = db.session.execute(
            sa.select(Report.id, Report.user_id).where(
                Report.target_type == report.target_type,
                Report.target_id == report.target_id,
                Report.status == report.status,
                Report.handled_at.between(
                    report.handled_at - _SAME_HANDLING, report.handled_at + _SAME_HANDLING
                ),
            )
        ).all()
    done = db.session().info.setdefault(_NOTIFIED_REPORTS, set())
    fresh = [(rid, uid) for rid, uid in rows if rid not in done]
    done.update(rid for rid, _uid in fresh)
    if not fresh:
        return
    outcome = "upheld" if report.status == ReportStatus.UPHELD else "dismissed"
    target = "comment" if report.target_type == "comment" else "proposal"
    message = MESSAGES[f"report_{outcome}_{target}"]
    users = recipients(
        proposal, followers=False, user_ids=[uid for _rid, uid in fresh], actor=actor
    )
    url = proposal_url(proposal.id)
    notify(Note(user, REPORT, message, params_of(proposal), url) for user in users)


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _forget_notified_reports(session: sa.orm.Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTIFIED_REPORTS, None)


# -- Conflicts among the stakeholders of a proposal ---------------------------------------


def _moderators(community_id: int) -> list[User]:
    committee = sa.select(Stakeholder.id).where(
        Stakeholder.community_id == community_id,
        Stakeholder.function == Function.RESIDENTS_COMMITTEE,
        Stakeholder.deleted_at.is_(None),
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.id.in_(
                    sa.select(Membership.user_id).where(
                        Membership.organisation_id.in_(committee),
                        Membership.status == MembershipStatus.ACTIVE,
                    )
                ),
                User.deleted_at.is_(None),
                User.is_disabled.is_(False),
            )
            .order_by(User.id)
        )
    )


def _active_on(community_id: int) -> dict[int, tuple[Proposal, set[int]]]:
    """Proposals under deliberation and the stakeholders active on them (two queries)."""
    open_states = [
        sa.and_(
            Proposal.kind == kind,
            Proposal.status.in_(
                [s for s in lifecycle.STATES[kind] if lifecycle.is_open_for_discussion(kind, s)]
            ),
        )
        for kind in lifecycle.KINDS
    ]
    proposals = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Proposal).where(Proposal.community_id == community_id, sa.or_(*open_states))
        )
    }
    if not proposals:
        return {}
    active: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        sa.union(
            sa.select(Position.proposal_id, Position.stakeholder_id).where(
                Position.proposal_id.in_(proposals)
            ),
            sa.select(Comment.proposal_id, Comment.actor_id).where(
                Comment.proposal_id.in_(proposals), Comment.deleted_at.is_(None)
            ),
            sa.select(CommentReaction.proposal_id, CommentReaction.actor_id).where(
                CommentReaction.proposal_id.in_(proposals)
            ),
        )
    )
    for pid, sid in rows:
        active[pid].add(sid)
    return {pid: (proposals[pid], active.get(pid, set())) for pid in proposals}


def on_network_changed(
    community_id: int, *, new_conflicts=(), new_triads=(), snapshot=None, **extra
) -> int:
    """Notify the community's moderators of new conflicts among a proposal's active stakeholders."""
    proposals = _active_on(community_id)
    if not proposals:
        return 0
    notes: list[tuple[str, dict[str, Any], str]] = []
    ids = {i for pair in new_conflicts for i in pair} | {i for t in new_triads for i in t["nodes"]}
    report = snapshot.report if snapshot is not None else None
    names = network_service.node_names(ids, report)
    group_of = network_service.report_group_of(report) or {}
    for pid, (proposal, people) in sorted(proposals.items()):
        active = {group_of.get(s) or s for s in people}  # residents stand as their groups
        url = proposal_url(pid, "conflict-map")
        for a, b in new_conflicts:
            if a in active and b in active:
                notes.append(
                    (
                        ALERT_CONFLICT,
                        {"title": proposal.title, "a": names.get(a, ""), "b": names.get(b, "")},
                        url,
                    )
                )
        for t in new_triads:
            m = t.get("mediator")
            others = [n for n in t["nodes"] if n != m]
            if m is None or len(others) != 2 or not all(o in active for o in others):
                continue
            notes.append(
                (
                    ALERT_TRIAD,
                    {
                        "title": proposal.title,
                        "m": names.get(m, ""),
                        "b": names.get(others[0], ""),
                        "c": names.get(others[1], ""),
                    },
                    url,
                )
            )
    if not notes:
        return 0
    moderators = _moderators(community_id)
    created = 0
    for message, params, url in notes:
        created += notify(Note(user, ALERT, message, params, url) for user in moderators)
    return created
