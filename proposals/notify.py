"""Who hears about what happens to a proposal: signal receivers that notify.

Each receiver finds its recipients in one query (followers plus the people the event
concerns, minus the acting user, minus anyone who may no longer see the proposal, minus
deleted and disabled accounts) and creates all notifications in one INSERT through
`coord.notifications.notify`. Messages name stakeholders and proposal titles only —
never personal data. Secret ballots and personal-data actions send no signal here.

Families add the receivers of their own events (e.g. `proposals.deliberation.notify`);
`init_app` connects them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from werkzeug.routing import BuildError

from coord.db import db
from coord.models import Community, User
from coord.notifications import N_, Note, notify, register_kind, stakeholder_ref, translatable
from proposals import lifecycle
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

STATE = "state"

register_kind(STATE, N_("State changes of proposals I follow"))

MESSAGES = {
    "state": N_("%(name)s moved “%(title)s” to: %(state)s."),
    "state_reason": N_("%(name)s moved “%(title)s” to: %(state)s. Reason: %(reason)s"),
    "state_system": N_("“%(title)s” moved to: %(state)s."),
}

#: Functions proposal → ids of the stakeholders taking part in it beyond its followers (e.g. a
#: tender's bidders), whose active members hear about its state changes; added by families.
_participant_sources: list[Callable[[Proposal], Iterable[int]]] = []


def add_participant_source(fn: Callable[[Proposal], Iterable[int]]) -> None:
    """Let `fn` name the stakeholders whose members hear about a proposal's state changes."""
    if fn not in _participant_sources:
        _participant_sources.append(fn)


def participant_user_ids(proposal: Proposal) -> list[int]:
    """Return the ids of the active members of the proposal's participating stakeholders."""
    ids = sorted({i for fn in _participant_sources for i in fn(proposal)})
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Membership.user_id).where(
                Membership.organisation_id.in_(ids), Membership.status == MembershipStatus.ACTIVE
            )
        )
    )


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


def params_of(proposal: Proposal, **params: Any) -> dict[str, Any]:
    """Return a message's parameters about `proposal` (its title, and `params`).

    A stakeholder is given as `coord.notifications.stakeholder_ref(id)`: its name is looked
    up when the message is shown, so that erasure reaches it.
    """
    return {"title": proposal.title, **params}


# -- Receivers --------------------------------------------------------------------------------


def on_proposal_transitioned(
    proposal: Proposal, actor: Actor | None = None, reason: str = "", **extra: Any
) -> None:
    """Tell the followers and participants that a proposal changed state (and why)."""
    state = translatable(lifecycle.STATE_LABELS.get(proposal.status, proposal.status))
    if actor is None:
        message, params = MESSAGES["state_system"], params_of(proposal, state=state)
    else:
        message, params = (
            MESSAGES["state_reason" if reason else "state"],
            params_of(
                proposal,
                name=stakeholder_ref(actor.stakeholder.id),
                state=state,
                **({"reason": reason} if reason else {}),
            ),
        )
    url = proposal_url(proposal.id)
    users = recipients(proposal, user_ids=participant_user_ids(proposal), actor=actor)
    notify(Note(user, STATE, message, params, url) for user in users)
