"""Who hears about what happens to a proposal: signal receivers that notify.

Each receiver finds its recipients in one query (followers plus the people the event
concerns, minus the acting user, minus anyone who may no longer see the proposal, minus
deleted and disabled accounts) and creates all notifications in one INSERT through
`coord.notifications.notify`. Messages name stakeholders and proposal titles only —
never personal data. Secret ballots and personal-data actions send no signal here.

Imported by `create_app` (the receivers connect at import time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from werkzeug.routing import BuildError

from coord.db import db
from coord.models import Community, User
from coord.notifications import N_, Note, notify, register_kind, stakeholder_ref, translatable
from proposals import lifecycle
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    Comment,
    Position,
    Report,
    ReportStatus,
)
from proposals.models import Follow, Proposal, ProposalInvite, Visibility
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Stakeholder,
)

REPLY, COMMENT, POSITION, STATE, AMENDMENT, REPORT = (
    "reply",
    "comment",
    "position",
    "state",
    "amendment",
    "report",
)

register_kind(REPLY, N_("Replies to my comments"))
register_kind(COMMENT, N_("New comments on proposals I follow"))
register_kind(POSITION, N_("New positions on proposals I follow"))
register_kind(STATE, N_("State changes of proposals I follow"))
register_kind(AMENDMENT, N_("Decisions on amendments"))
register_kind(REPORT, N_("Reports I filed that were handled"))

MESSAGES = {
    "reply": N_("%(name)s replied to your comment on “%(title)s”."),
    "comment": N_("%(name)s commented on “%(title)s”."),
    "position": N_("%(name)s declared a position on “%(title)s”: %(stance)s."),
    "state": N_("%(name)s moved “%(title)s” to: %(state)s."),
    "state_system": N_("“%(title)s” moved to: %(state)s."),
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

STANCE_LABELS = {
    "support": N_("Support"),
    "oppose": N_("Oppose"),
    "conditional": N_("Conditional support"),
    "neutral": N_("Neutral"),
}

_NOTIFIED_REPORTS = "coord_notified_reports"


# -- Recipients -------------------------------------------------------------------------------


def _member_of(org_id: Any) -> sa.ColumnElement[bool]:
    """The (correlated) user is an active member of the organisation `org_id`."""
    return sa.and_(
        Membership.user_id == User.id,
        Membership.status == MembershipStatus.ACTIVE,
        Membership.organisation_id == org_id,
    )


def visible_to_user(proposal: Proposal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `User` selecting who may see `proposal`, like `permissions.can_view`.

    The clause is correlated to `User`, so one query checks any number of users. (Each
    subquery is flat: a nested one would not correlate to the outer `users`.)
    """
    author_id = proposal.author_id
    is_author = sa.or_(
        sa.exists().where(Stakeholder.id == author_id, Stakeholder.user_id == User.id),
        sa.exists().where(_member_of(author_id)),
    )
    if not lifecycle.is_public(proposal.kind, proposal.status):
        return is_author
    if proposal.visibility == Visibility.PUBLIC:
        return sa.true()
    committee = sa.exists().where(
        _member_of(Stakeholder.id),
        Stakeholder.function == Function.RESIDENTS_COMMITTEE,
        Stakeholder.community_id == proposal.community_id,
    )
    clauses = [is_author, User.is_admin.is_(True), committee]
    if proposal.visibility == Visibility.COMMUNITY:
        street = (
            sa.select(Community.street_id)
            .where(Community.id == proposal.community_id)
            .scalar_subquery()
        )
        clauses.append(
            sa.exists().where(
                ResidentProfile.user_id == User.id,
                ResidentProfile.community_id == proposal.community_id,
                ResidentProfile.status == ResidenceStatus.VERIFIED,
            )
        )
        clauses.append(
            sa.exists().where(
                _member_of(Stakeholder.id),
                sa.or_(
                    Stakeholder.community_id == proposal.community_id,
                    sa.and_(Stakeholder.community_id.is_(None), Stakeholder.street_id == street),
                ),
            )
        )
    else:  # invited: the user's own identity or one of their organisations is invited
        clauses.append(
            sa.exists().where(
                ProposalInvite.proposal_id == proposal.id,
                ProposalInvite.stakeholder_id == Stakeholder.id,
                Stakeholder.user_id == User.id,
            )
        )
        clauses.append(
            sa.exists().where(
                ProposalInvite.proposal_id == proposal.id,
                _member_of(ProposalInvite.stakeholder_id),
            )
        )
    return sa.or_(*clauses)


def recipients(
    proposal: Proposal,
    *,
    followers: bool = True,
    user_ids: Iterable[int | None] = (),
    actor: Actor | None = None,
) -> list[User]:
    """Return the active users to notify about `proposal`, in one query.

    They are its followers (if asked) and `user_ids`, without the acting user and without
    anyone who may not see the proposal.
    """
    wanted = sorted({i for i in user_ids if i is not None})
    chosen = []
    if followers:
        chosen.append(
            User.id.in_(sa.select(Follow.user_id).where(Follow.proposal_id == proposal.id))
        )
    if wanted:
        chosen.append(User.id.in_(wanted))
    if not chosen:
        return []
    query = sa.select(User).where(
        sa.or_(*chosen),
        User.deleted_at.is_(None),
        User.is_disabled.is_(False),
        visible_to_user(proposal),
    )
    if actor is not None:
        query = query.where(User.id != actor.user.id)
    return list(db.session.scalars(query.order_by(User.id)))


# -- Messages ---------------------------------------------------------------------------------


def proposal_url(proposal_id: int, anchor: str | None = None) -> str:
    """Return the local path of a proposal's page (optionally to an anchor on it)."""
    try:
        if has_request_context():
            rv = url_for("proposals.detail", proposal_id=proposal_id)
        else:
            rv = current_app.url_map.bind("localhost").build(
                "proposals.detail", {"proposal_id": proposal_id}
            )
    except BuildError:
        rv = f"/proposals/{proposal_id}"
    return f"{rv}#{anchor}" if anchor else rv


def _name(stakeholder_id: int) -> dict[str, int]:
    """A stakeholder's name as a parameter: looked up when shown, so erasure reaches it."""
    return stakeholder_ref(stakeholder_id)


def _base(proposal: Proposal, **params: Any) -> dict[str, Any]:
    return {"title": proposal.title, **params}


def _proposal(proposal_id: int) -> Proposal | None:
    return db.session.get(Proposal, proposal_id)


# -- Receivers --------------------------------------------------------------------------------


def on_comment_posted(comment: Comment, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the parent comment's author of a reply, and the followers of a new comment."""
    proposal = _proposal(comment.proposal_id)
    if proposal is None:
        return
    parent = db.session.get(Comment, comment.parent_id) if comment.parent_id else None
    parent_author = parent.user_id if parent is not None and not parent.is_deleted else None
    params = _base(proposal, name=_name(comment.actor_id))
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
    proposal = _proposal(position.proposal_id)
    if proposal is None:
        return
    stance = getattr(position.stance, "value", position.stance)
    params = _base(
        proposal,
        name=_name(position.stakeholder_id),
        stance=translatable(STANCE_LABELS.get(stance, stance)),
    )
    url = proposal_url(proposal.id, "positions")
    users = recipients(proposal, user_ids=_author_user_ids(proposal), actor=actor)
    notify(Note(user, POSITION, MESSAGES["position"], params, url) for user in users)


def on_proposal_transitioned(proposal: Proposal, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the followers that a proposal changed state."""
    state = translatable(lifecycle.STATE_LABELS.get(proposal.status, proposal.status))
    if actor is None:
        message, params = MESSAGES["state_system"], _base(proposal, state=state)
    else:
        message, params = (
            MESSAGES["state"],
            _base(proposal, name=_name(actor.stakeholder.id), state=state),
        )
    url = proposal_url(proposal.id)
    notify(Note(user, STATE, message, params, url) for user in recipients(proposal, actor=actor))


def on_amendment_decided(amendment: Amendment, actor: Actor | None = None, **extra: Any) -> None:
    """Tell the amendment's author, the proposal's author and the followers of a decision."""
    if amendment.status not in (AmendmentStatus.ACCEPTED, AmendmentStatus.REJECTED):
        return
    proposal = _proposal(amendment.proposal_id)
    if proposal is None:
        return
    outcome = "accepted" if amendment.status == AmendmentStatus.ACCEPTED else "rejected"
    own, other = MESSAGES[f"amendment_{outcome}_own"], MESSAGES[f"amendment_{outcome}"]
    decider = actor.stakeholder.id if actor is not None else None
    params = _base(proposal, name=_name(decider) if decider else "", amendment=amendment.title)
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
    proposal = _proposal(report.proposal_id)
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
    notify(Note(user, REPORT, message, _base(proposal), url) for user in users)


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _forget_notified_reports(session: sa.orm.Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTIFIED_REPORTS, None)
