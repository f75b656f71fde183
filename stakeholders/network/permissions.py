"""Who may see and answer declared relations, and who manages a community's network.

Visibility: ``public`` relations are shown to everybody; ``managers`` relations (sensitive
disputes) only to the two sides, to the members of the community's residents committee and
of the street office. :func:`visible_clause` is the one place that rule becomes SQL (the
same rule as :func:`can_see`), so that pages, the API, exports and the network analysis all
apply the same filter.
"""

from __future__ import annotations

import sqlalchemy as sa

from coord.db import db
from coord.models import Community, User
from stakeholders import permissions as perm
from stakeholders.models import Relation, RelationVisibility, Stakeholder


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def street_office_street_ids(user: User | None) -> set[int]:
    """Return the streets whose street office the user works for."""
    return set(perm.street_office_ids(user))


def managed_community_ids(user: User | None) -> set[int]:
    """Return the communities whose managers-only relations the user may see.

    Members of a community's residents committee manage that community; members of a street
    office manage every community of its street.
    """
    if not _signed_in(user):
        return set()
    rv = set(perm.committee_ids(user))
    streets = street_office_street_ids(user)
    if streets:
        rv.update(
            db.session.scalars(sa.select(Community.id).where(Community.street_id.in_(streets)))
        )
    return rv


def is_network_manager(user: User | None, community: Community) -> bool:
    """Tell whether the user sees the community's managers-only relations and alerts."""
    return community.id in managed_community_ids(user)


def identity_ids(user: User | None) -> set[int]:
    """Return the stakeholders the user is or acts for (one or two queries)."""
    if not _signed_in(user):
        return set()
    own = db.session.scalar(sa.select(Stakeholder.id).where(Stakeholder.user_id == user.id))
    return {*perm.active_roles(user), *([own] if own else [])}


def _managed_streets(user: User | None) -> set[int]:
    managed = managed_community_ids(user)
    if not managed:
        return set()
    return set(db.session.scalars(sa.select(Community.street_id).where(Community.id.in_(managed))))


def visible_clause(user: User | None) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Relation` selecting the relations `user` may see."""
    clauses: list[sa.ColumnElement[bool]] = [Relation.visibility == RelationVisibility.PUBLIC]
    ids = identity_ids(user)
    if ids:
        clauses.append(Relation.source_id.in_(ids))
        clauses.append(Relation.target_id.in_(ids))
    managed = managed_community_ids(user)
    if managed:
        clauses.append(Relation.community_id.in_(managed))
        streets = _managed_streets(user)
        street_level = sa.select(Stakeholder.id).where(Stakeholder.street_id.in_(streets))
        clauses.append(
            sa.and_(Relation.community_id.is_(None), Relation.source_id.in_(street_level))
        )
    return sa.or_(*clauses)


def can_see(user: User | None, relation: Relation) -> bool:
    """Tell whether the user may see this relation."""
    if relation.visibility == RelationVisibility.PUBLIC:
        return True
    if {relation.source_id, relation.target_id} & identity_ids(user):
        return True
    if relation.community_id is not None:
        return relation.community_id in managed_community_ids(user)
    return relation.source.street_id in _managed_streets(user)


def is_party(user: User | None, relation: Relation) -> bool:
    """Tell whether the user is (or acts for) one of the two sides of a relation."""
    return bool({relation.source_id, relation.target_id} & identity_ids(user))


def can_see_person(user: User | None, relation: Relation, end: Stakeholder) -> bool:
    """Tell whether an end of a relation is shown by name: an organisation, or a resident to
    themself and to the other side (everyone else sees the resident's group)."""
    return end.is_organisation or is_party(user, relation)


def can_respond(user: User | None, relation: Relation) -> bool:
    """The target's side confirms or disputes a relation."""
    return _signed_in(user) and perm.can_act_as(user, relation.target)


def can_retract(user: User | None, relation: Relation) -> bool:
    """The declaring side retracts a relation."""
    return _signed_in(user) and perm.can_act_as(user, relation.source)


def verifying_committee(user: User | None, relation: Relation) -> Stakeholder | None:
    """Return the residents committee through which `user` may verify the relation."""
    committees = perm.committee_ids(user)
    if not committees:
        return None
    if relation.community_id is not None:
        wanted = {relation.community_id} & committees
    else:
        street = relation.source.street_id
        wanted = set(
            db.session.scalars(
                sa.select(Community.id).where(
                    Community.street_id == street, Community.id.in_(committees)
                )
            )
        )
    for community_id in sorted(wanted):
        committee = perm.residents_committee_of(community_id)
        if committee is not None:
            return committee
    return None


def can_verify(user: User | None, relation: Relation) -> bool:
    """Members of the residents committee of the relation's community verify it."""
    return verifying_committee(user, relation) is not None
