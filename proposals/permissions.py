"""Who may see, discuss, edit and move a proposal."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import g

from coord.db import db
from coord.models import Community, User
from coord.permissions import is_platform_admin
from proposals import lifecycle
from proposals.models import Proposal, ProposalInvite, Visibility
from stakeholders.models import (
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)
from stakeholders.permissions import active_roles, committee_ids, government_street_ids


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def identity_ids(user: User | None) -> set[int]:
    """Return the ids of every stakeholder the user may act as (own identity and organisations)."""
    if not _signed_in(user):
        return set()
    cache = g.setdefault("_own_identity", {})
    if user.id not in cache and "identities" in g:  # the acting-as selector loaded them
        cache[user.id] = next((s.id for s in g.identities if s.user_id == user.id), None)
    if user.id not in cache:
        cache[user.id] = db.session.scalar(
            sa.select(Stakeholder.id).where(Stakeholder.user_id == user.id)
        )
    own = cache[user.id]
    return {*active_roles(user), *([own] if own else [])}


def member_community_ids(user: User | None) -> set[int]:
    """Return the communities the user belongs to: verified residence and organisations'
    communities (a street-level organisation belongs to every community of its street)."""
    if not _signed_in(user):
        return set()
    cache = g.setdefault("_member_communities", {})
    if user.id in cache:
        return cache[user.id]
    rv = set(
        db.session.scalars(
            sa.select(ResidentProfile.community_id).where(
                ResidentProfile.user_id == user.id,
                ResidentProfile.status == ResidenceStatus.VERIFIED,
            )
        )
    )
    orgs = active_roles(user)
    if orgs:
        rows = db.session.execute(
            sa.select(Stakeholder.community_id, Stakeholder.street_id).where(
                Stakeholder.id.in_(orgs)
            )
        ).all()
        rv.update(c for c, _s in rows if c is not None)
        streets = {s for c, s in rows if c is None and s is not None}
        if streets:
            rv.update(
                db.session.scalars(sa.select(Community.id).where(Community.street_id.in_(streets)))
            )
    cache[user.id] = rv
    return rv


def is_author(user: User | None, actor_id: int | None, proposal: Proposal) -> bool:
    """The author is the authoring stakeholder: its resident, its admins, or whoever acts as it."""
    if not _signed_in(user):
        return False
    if actor_id == proposal.author_id:
        return True
    author = proposal.author
    if author.user_id is not None:
        return author.user_id == user.id
    return active_roles(user).get(author.id) == Role.ADMIN


def roles_for(user: User | None, actor_id: int | None, proposal: Proposal) -> frozenset[str]:
    """Return the lifecycle roles (see proposals.lifecycle.ROLES) the user holds on a proposal."""
    if not _signed_in(user):
        return frozenset()
    rv = set()
    if is_author(user, actor_id, proposal):
        rv.add("author")
        if proposal.kind == "request":
            rv.add("requester")
        if proposal.kind == "tender":
            rv.add("buyer")
    if proposal.community_id in committee_ids(user):
        rv.add("moderator")
    if proposal.community.street_id in government_street_ids(user):
        rv.add("street_office")
    for provider in _role_providers:
        rv.update(provider(user, actor_id, proposal))
    return frozenset(rv)


#: Functions (user, actor_id, proposal) → extra lifecycle role names, added by higher
#: modules that know about them (plan reviewers, request handlers: proposals.tracking.permissions).
_role_providers: list[Callable[[User, int | None, Proposal], Iterable[str]]] = []


def add_role_provider(provider: Callable[[User, int | None, Proposal], Iterable[str]]) -> None:
    """Let `provider` add lifecycle roles in `roles_for` (called for signed-in users only)."""
    if provider not in _role_providers:
        _role_providers.append(provider)


def _is_invited(user: User, proposal: Proposal) -> bool:
    ids = identity_ids(user)
    return (
        bool(ids)
        and db.session.scalar(
            sa.select(sa.func.count()).where(
                ProposalInvite.proposal_id == proposal.id, ProposalInvite.stakeholder_id.in_(ids)
            )
        )
        > 0
    )


def can_view(user: User | None, proposal: Proposal) -> bool:
    """Drafts only to their author; then by visibility (moderators and admins see all)."""
    author = is_author(user, None, proposal) or bool(identity_ids(user) & {proposal.author_id})
    if not lifecycle.is_public(proposal.kind, proposal.status):
        return author
    if proposal.visibility == Visibility.PUBLIC or author or is_platform_admin(user):
        return True
    if proposal.community_id in committee_ids(user):
        return True
    if proposal.visibility == Visibility.COMMUNITY:
        return proposal.community_id in member_community_ids(user)
    return _signed_in(user) and _is_invited(user, proposal)


def can_participate(user: User | None, proposal: Proposal) -> bool:
    """Comment, react, declare positions and amend: signed in, may see, and discussion is open."""
    return (
        _signed_in(user)
        and not proposal.is_hidden
        and lifecycle.is_open_for_discussion(proposal.kind, proposal.status)
        and can_view(user, proposal)
    )


def can_edit(user: User | None, actor_id: int | None, proposal: Proposal) -> bool:
    """Only the author (or the author organisation's admins) edits, while the state allows it."""
    return is_author(user, actor_id, proposal) and lifecycle.is_editable(
        proposal.kind, proposal.status
    )


def can_moderate(user: User | None, community_id: int) -> bool:
    """Members of the community's residents committee moderate its proposals and comments."""
    return community_id in committee_ids(user)


def visible_filter(user: User | None) -> sa.ColumnElement[bool]:
    """A WHERE clause selecting the proposals `user` may see (for lists and search)."""
    public_states = [
        sa.and_(Proposal.kind == kind, Proposal.status.in_(states))
        for kind, states in _public_states().items()
    ]
    published = sa.or_(*public_states)
    ids = identity_ids(user)
    moderated = committee_ids(user)
    clauses = [sa.and_(published, Proposal.visibility == Visibility.PUBLIC)]
    if ids:
        clauses.append(Proposal.author_id.in_(ids))
        invited = sa.select(ProposalInvite.proposal_id).where(
            ProposalInvite.stakeholder_id.in_(ids)
        )
        clauses.append(sa.and_(published, Proposal.id.in_(invited)))
    communities = member_community_ids(user)
    if communities:
        clauses.append(
            sa.and_(
                published,
                Proposal.visibility == Visibility.COMMUNITY,
                Proposal.community_id.in_(communities),
            )
        )
    if moderated:
        clauses.append(sa.and_(published, Proposal.community_id.in_(moderated)))
    if is_platform_admin(user):
        clauses.append(published)
    return sa.or_(*clauses)


def _public_states() -> dict[str, list[str]]:
    return {
        kind: [s for s in lifecycle.STATES[kind] if lifecycle.is_public(kind, s)]
        for kind in lifecycle.KINDS
    }
