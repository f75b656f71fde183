"""Core models: users and their sessions, places, API tokens, notifications."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, enum_column, utcnow


def new_session_token() -> str:
    """Return a fresh random token that identifies a user's live sessions."""
    return secrets.token_urlsafe(32)


class Signature(enum.StrEnum):
    """How a resident signs their contributions to a proposal (organisations: always named)."""

    NAMED = "named"  # by their name, linked to their profile
    RESIDENT = "resident"  # as "a verified resident of building 3 of 兰苑社区"


class User(UserMixin, db.Model):
    """A login. Personal data lives in stakeholders.ResidentProfile, encrypted."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(60))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    email_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    #: Notification settings: {"email": bool, "digest": bool, "muted": [kind, ...]}.
    notification_settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: The signature first offered when the user, as a resident, contributes to a proposal.
    signature_default: Mapped[Signature] = mapped_column(
        enum_column(Signature), default=Signature.RESIDENT, server_default=Signature.RESIDENT.value
    )
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def get_id(self) -> str:
        """Identify the session by its token, so that rotating it ends old sessions."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        return not self.is_disabled and self.deleted_at is None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def end_sessions(self) -> None:
        """Invalidate every session of this user (logout, password change, disable)."""
        self.session_token = new_session_token()


class Street(db.Model):
    """A street (街道), the area of one street office."""

    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")

    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.id"
    )


class Community(db.Model):
    """A community (社区) within a street."""

    __tablename__ = "communities"
    __table_args__ = (sa.UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community", order_by="Grid.number")


class Grid(db.Model):
    """A grid (网格), an optional subdivision of a community."""

    __tablename__ = "grids"
    __table_args__ = (sa.UniqueConstraint("community_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(80), default="")

    community: Mapped[Community] = relationship(back_populates="grids")


class ApiToken(db.Model):
    """A personal access token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEvent(db.Model):
    """One entry of the append-only, hash-chained audit trail (see coord.audit).

    Rows carry ids only, never personal data; `id` is the position in the chain.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    community_id: Mapped[int | None] = mapped_column(index=True)
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Random, hashed with the fields: a private event's published digest cannot be guessed.
    salt: Mapped[str] = mapped_column(sa.String(32))
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class AuditCheckpoint(db.Model):
    """A signed statement that the audit chain up to `position` ends in `head_hash`.

    Signed with an Ed25519 key kept outside the database (coord.audit_chain); holds the
    fingerprints of the events since the previous checkpoint, so that a rewritten event
    is named exactly.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    fingerprints: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(sa.String(16))
    signature: Mapped[str] = mapped_column(sa.String(128))


class Notification(db.Model):
    """An in-app notification; `message` is an English msgid translated when shown."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    url: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
