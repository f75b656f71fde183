"""Who may do what with stakeholders, memberships and residents' data."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g

from coord.db import db
from coord.models import Community, User
from coord.permissions import is_platform_admin
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)


@dataclass(frozen=True)
class OrgMembership:
    """An active membership of the current user, with what permissions need of the organisation."""

    role: Role
    kind: Kind
    function: Function | None
    street_id: int | None
    community_id: int | None


def memberships_of(user: User | None) -> dict[int, OrgMembership]:
    """Map organisation id → the user's active membership (one query, cached per request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    cache = g.setdefault("_memberships", {})
    if user.id not in cache:
        rows = db.session.execute(
            sa.select(
                Membership.organisation_id,
                Membership.role,
                Stakeholder.kind,
                Stakeholder.function,
                Stakeholder.street_id,
                Stakeholder.community_id,
            )
            .join(Stakeholder, Stakeholder.id == Membership.organisation_id)
            .where(
                Membership.user_id == user.id,
                Membership.status == MembershipStatus.ACTIVE,
                Stakeholder.deleted_at.is_(None),
            )
        ).all()
        cache[user.id] = {row[0]: OrgMembership(*row[1:]) for row in rows}
    return cache[user.id]


def active_roles(user: User | None) -> dict[int, Role]:
    """Map organisation id → the user's role, for active memberships."""
    return {org_id: m.role for org_id, m in memberships_of(user).items()}


def forget_roles() -> None:
    """Drop the per-request membership cache after memberships change."""
    g.pop("_memberships", None)


def street_office_ids(user: User | None) -> dict[int, int]:
    """Map street id → id of the street office the user works for."""
    return {
        m.street_id: org_id
        for org_id, m in memberships_of(user).items()
        if m.function == Function.STREET_OFFICE and m.street_id is not None
    }


def government_street_ids(user: User | None) -> set[int]:
    """Return the streets whose government units (street office, departments) the user works for."""
    return {
        m.street_id
        for m in memberships_of(user).values()
        if m.kind == Kind.GOVERNMENT and m.street_id is not None
    }


def is_member(user: User | None, org: Stakeholder, *roles: Role) -> bool:
    """Tell whether `user` is an active member of `org` (with one of `roles`, if given)."""
    role = active_roles(user).get(org.id)
    return role is not None and (not roles or role in roles)


def can_act_as(user: User | None, stakeholder: Stakeholder) -> bool:
    """Tell whether `user` may speak for `stakeholder`."""
    if user is None or stakeholder.is_deleted:
        return False
    return stakeholder.user_id == user.id or is_member(user, stakeholder)


def can_manage_organisation(user: User | None, org: Stakeholder) -> bool:
    """Admins of an organisation (and the platform admin) accept members and set roles."""
    return org.is_organisation and (is_platform_admin(user) or is_member(user, org, Role.ADMIN))


def can_create_organisation(user: User | None, kind: Kind) -> bool:
    """Anyone signed in creates businesses and social organisations; only the admin, government."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if kind == Kind.GOVERNMENT:
        return is_platform_admin(user)
    return kind in (Kind.BUSINESS, Kind.SOCIAL_ORGANIZATION)


def can_confirm_organisation(user: User | None, org: Stakeholder) -> bool:
    """The platform administrator, or the street office of its street, confirms an organisation.

    Government units are the administrator's alone (they are confirmed when created).
    """
    if not org.is_organisation or org.is_deleted:
        return False
    if is_platform_admin(user):
        return True
    return org.kind != Kind.GOVERNMENT and org.street_id in street_office_ids(user)


def can_review_organisations(user: User | None) -> bool:
    """The platform administrator and street office staff see organisations to confirm."""
    return is_platform_admin(user) or bool(street_office_ids(user))


def residents_committee_of(community_id: int | None) -> Stakeholder | None:
    """Return the residents committee of a community."""
    if community_id is None:
        return None
    return db.session.scalar(
        sa.select(Stakeholder).where(
            Stakeholder.community_id == community_id,
            Stakeholder.function == Function.RESIDENTS_COMMITTEE,
            Stakeholder.deleted_at.is_(None),
        )
    )


def committee_ids(user: User | None) -> set[int]:
    """Return the ids of communities whose residents committee `user` belongs to."""
    return {
        m.community_id
        for m in memberships_of(user).values()
        if m.function == Function.RESIDENTS_COMMITTEE and m.community_id is not None
    }


def can_verify_residents(user: User | None, community: Community) -> bool:
    """Members of the community's residents committee verify residents."""
    return community.id in committee_ids(user)


def can_reveal_personal_data(user: User | None, profile: ResidentProfile) -> bool:
    """Only the verifying residents committee may reveal a resident's full data."""
    return profile.community_id is not None and profile.community_id in committee_ids(user)
