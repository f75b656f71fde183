"""Read-side queries for stakeholder pages and the API (one query per list, never per row)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from coord.db import db
from coord.models import Community, User
from stakeholders.models import (
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)


def community_stakeholders(community: Community, kind: Kind | None = None) -> sa.Select:
    """Select a community's stakeholders: its and the street's organisations, verified residents."""
    verified = sa.select(ResidentProfile.user_id).where(
        ResidentProfile.community_id == community.id,
        ResidentProfile.status == ResidenceStatus.VERIFIED,
    )
    in_community = sa.or_(
        Stakeholder.community_id == community.id,
        sa.and_(
            Stakeholder.kind != Kind.RESIDENT,
            Stakeholder.community_id.is_(None),
            Stakeholder.street_id == community.street_id,
        ),
        Stakeholder.user_id.in_(verified),
    )
    rv = sa.select(Stakeholder).where(in_community, Stakeholder.deleted_at.is_(None))
    if kind is not None:
        rv = rv.where(Stakeholder.kind == kind)
    return rv.order_by(Stakeholder.kind, Stakeholder.name, Stakeholder.id)


def verified_user_ids(user_ids: list[int]) -> set[int]:
    """Return which of these users are verified residents (anywhere)."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(ResidentProfile.user_id).where(
                ResidentProfile.user_id.in_(user_ids),
                ResidentProfile.status == ResidenceStatus.VERIFIED,
            )
        )
    )


def public_profile(stakeholder: Stakeholder, is_verified: bool) -> dict:
    """Return the public face of a stakeholder: never personal data."""
    deleted = stakeholder.is_deleted
    return {
        "id": stakeholder.id,
        "kind": stakeholder.kind.value,
        "function": stakeholder.function.value if stakeholder.function else None,
        "name": None if deleted else stakeholder.name,
        "is_deleted": deleted,
        "is_confirmed": stakeholder.is_confirmed if stakeholder.is_organisation else None,
        "credit_code": stakeholder.credit_code,
        "is_verified_resident": is_verified,
        "community_id": stakeholder.community_id,
        "street_id": stakeholder.street_id,
        "description": "" if deleted else stakeholder.description,
    }


def unconfirmed_organisations(street_ids: set[int] | None = None) -> list[Stakeholder]:
    """Return organisations waiting for confirmation, oldest first (of these streets, if given)."""
    stmt = (
        sa.select(Stakeholder)
        .options(joinedload(Stakeholder.community))
        .where(
            Stakeholder.kind != Kind.RESIDENT,
            Stakeholder.is_confirmed.is_(False),
            Stakeholder.deleted_at.is_(None),
        )
        .order_by(Stakeholder.created_at, Stakeholder.id)
    )
    if street_ids is not None:
        stmt = stmt.where(Stakeholder.street_id.in_(street_ids))
    return list(db.session.scalars(stmt))


def speaker_ids(user: User, roles: tuple[Role, ...] | None = None) -> sa.Select:
    """Select the ids the user speaks for: their own identity and their organisations (with
    one of `roles` when given) — a subquery, so that a caller's list stays one query."""
    orgs = sa.select(Membership.organisation_id).where(
        Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE
    )
    if roles is not None:
        orgs = orgs.where(Membership.role.in_(roles))
    return sa.select(Stakeholder.id).where(
        Stakeholder.deleted_at.is_(None),
        sa.or_(Stakeholder.user_id == user.id, Stakeholder.id.in_(orgs)),
    )
