"""Stakeholders, organisation memberships and residents' (encrypted) personal data."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord import crypto
from coord.db import UTCDateTime, db, enum_column, utcnow
from coord.models import Community, Street, User


class Kind(enum.StrEnum):
    """The four kinds of stakeholder."""

    GOVERNMENT = "government"
    BUSINESS = "business"
    SOCIAL_ORGANIZATION = "social_organization"
    RESIDENT = "resident"


class Function(enum.StrEnum):
    """What an organisation does in the neighbourhood's governance."""

    STREET_OFFICE = "street_office"
    DEPARTMENT = "department"
    RESIDENTS_COMMITTEE = "residents_committee"
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_MANAGER = "property_manager"
    VOLUNTEER_ASSOCIATION = "volunteer_association"
    CONTRACTOR = "contractor"
    SHOP = "shop"
    OTHER = "other"


class ConfirmationBasis(enum.StrEnum):
    """What the confirmer of an organisation checked."""

    CREDIT_CODE = "credit_code"  # its unified social credit code, against the public register
    REGISTRATION = "registration"  # its registration papers (certificate, filing, founding act)


class Role(enum.StrEnum):
    """A member's role in an organisation."""

    ADMIN = "admin"
    MEMBER = "member"
    DELEGATE = "delegate"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    LEFT = "left"


class ResidenceStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Stakeholder(db.Model):
    """An actor that speaks, proposes, votes and appears in the network.

    A resident stakeholder is one user's own identity (`user_id` set); the other kinds
    are organisations whose users join through `Membership`.
    """

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind), index=True)
    function: Mapped[Function | None] = mapped_column(enum_column(Function))
    name: Mapped[str] = mapped_column(sa.String(80))
    #: An organisation's name as compared (stakeholders.names.name_key), unique; None for residents.
    name_key: Mapped[str | None] = mapped_column(sa.String(255), index=True, unique=True)
    #: 统一社会信用代码, normalised (stakeholders.credit_code), unique when given.
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), index=True, unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    street_id: Mapped[int | None] = mapped_column(sa.ForeignKey("streets.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    is_confirmed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    street: Mapped[Street | None] = relationship()
    community: Mapped[Community | None] = relationship()
    parent: Mapped[Stakeholder | None] = relationship(remote_side=[id])
    user: Mapped[User | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")

    @property
    def is_organisation(self) -> bool:
        return self.kind != Kind.RESIDENT

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_unconfirmed(self) -> bool:
        """Tell whether this is an organisation the street office has not confirmed yet."""
        return self.kind != Kind.RESIDENT and not self.is_confirmed


class Membership(db.Model):
    """A user's place in an organisation: asked to join, accepted, with a role."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.MEMBER)
    status: Mapped[MembershipStatus] = mapped_column(
        enum_column(MembershipStatus), default=MembershipStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    organisation: Mapped[Stakeholder] = relationship(back_populates="memberships")

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE


class ResidentProfile(db.Model):
    """A user's claim of residence, verified by the community's residents committee.

    Phone, ID number and address are encrypted at rest (coord.crypto) and shown masked.
    """

    __tablename__ = "resident_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id"))
    building: Mapped[str] = mapped_column(sa.String(20), default="")
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    phone_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    id_number_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    address_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status: Mapped[ResidenceStatus] = mapped_column(
        enum_column(ResidenceStatus), default=ResidenceStatus.PENDING, index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))

    user: Mapped[User] = relationship()
    community: Mapped[Community | None] = relationship()

    @property
    def is_verified(self) -> bool:
        return self.status == ResidenceStatus.VERIFIED

    @property
    def phone(self) -> str | None:
        return crypto.decrypt(self.phone_encrypted)

    @phone.setter
    def phone(self, value: str | None) -> None:
        self.phone_encrypted = crypto.encrypt(value)

    @property
    def id_number(self) -> str | None:
        return crypto.decrypt(self.id_number_encrypted)

    @id_number.setter
    def id_number(self, value: str | None) -> None:
        self.id_number_encrypted = crypto.encrypt(value)

    @property
    def address(self) -> str | None:
        return crypto.decrypt(self.address_encrypted)

    @address.setter
    def address(self, value: str | None) -> None:
        self.address_encrypted = crypto.encrypt(value)

    @property
    def masked_phone(self) -> str:
        return crypto.mask(self.phone)


class RelationType(enum.StrEnum):
    """Declared relation types; the sign follows from the type (see RELATION_SIGNS)."""

    COOPERATION = "cooperation"
    ALLIANCE = "alliance"
    CONTRACT = "contract"
    SUPERVISION = "supervision"
    MEMBERSHIP = "membership"
    AFFILIATION = "affiliation"
    DISPUTE = "dispute"
    CONFLICT = "conflict"


RELATION_SIGNS = {
    RelationType.COOPERATION: 1,
    RelationType.ALLIANCE: 1,
    RelationType.CONTRACT: 1,
    RelationType.SUPERVISION: 1,
    RelationType.MEMBERSHIP: 1,
    RelationType.AFFILIATION: 1,
    RelationType.DISPUTE: -1,
    RelationType.CONFLICT: -1,
}


class RelationStatus(enum.StrEnum):
    CLAIMED = "claimed"  # declared by one side
    CONFIRMED = "confirmed"  # confirmed by the other side
    DISPUTED = "disputed"  # the other side disagrees (both sides are shown)
    VERIFIED = "verified"  # checked by the residents committee
    RETRACTED = "retracted"  # withdrawn by its declarer (kept for the record)


class RelationVisibility(enum.StrEnum):
    PUBLIC = "public"
    MANAGERS = "managers"  # residents committee and street office only


class Relation(db.Model):
    """A declared relation between two stakeholders, with its evidence and status."""

    __tablename__ = "relations"
    __table_args__ = (
        sa.UniqueConstraint("source_id", "target_id", "type"),
        sa.CheckConstraint("source_id <> target_id", name="not_self"),
        sa.CheckConstraint("sign IN (-1, 1)", name="sign"),
        sa.CheckConstraint("strength BETWEEN 1 AND 3", name="strength"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    type: Mapped[RelationType] = mapped_column(enum_column(RelationType))
    sign: Mapped[int]
    strength: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    evidence: Mapped[str] = mapped_column(sa.String(1000), default="")
    status: Mapped[RelationStatus] = mapped_column(
        enum_column(RelationStatus), default=RelationStatus.CLAIMED, index=True
    )
    visibility: Mapped[RelationVisibility] = mapped_column(
        enum_column(RelationVisibility), default=RelationVisibility.PUBLIC
    )
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    declared_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    response_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    source: Mapped[Stakeholder] = relationship(foreign_keys=[source_id])
    target: Mapped[Stakeholder] = relationship(foreign_keys=[target_id])


class NetworkSnapshot(db.Model):
    """A computed network report of a community (cached; recomputed when inputs change)."""

    __tablename__ = "network_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    #: Digest of the inputs (relations, positions, reactions) the report was computed from.
    inputs_digest: Mapped[str] = mapped_column(sa.String(64))
    #: pending | running | done | failed
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    progress: Mapped[float] = mapped_column(default=0.0)
    report: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
