"""Deliberation's records: comments and their revisions and reactions, positions and
their revisions, amendments and their supporters, moderation reports, and how each
resident signs their contributions to a proposal."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, enum_column, utcnow
from coord.models import Signature
from stakeholders.models import Stakeholder


class CommentStance(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    NEUTRAL = "neutral"
    QUESTION = "question"


class Reaction(enum.StrEnum):
    """An opinion on a comment: the agree/disagree/pass matrix that analysis uses."""

    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"  # noqa: S105 (not a password)


class PositionStance(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    CONDITIONAL = "conditional"
    NEUTRAL = "neutral"


class AmendmentStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the item was hidden
    DISMISSED = "dismissed"


class Comment(db.Model):
    """A comment in a proposal's thread.

    `path` is the chain of zero-padded ids from the root to this comment, so that one
    query ordered by `path` returns the whole thread in reading order.
    """

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(1000), default="", index=True)
    depth: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    stance: Mapped[CommentStance] = mapped_column(
        enum_column(CommentStance), default=CommentStance.NEUTRAL
    )
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    sanitizer_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(300))
    open_reports: Mapped[int] = mapped_column(default=0)
    agree_count: Mapped[int] = mapped_column(default=0)
    disagree_count: Mapped[int] = mapped_column(default=0)
    pass_count: Mapped[int] = mapped_column(default=0)

    actor: Mapped[Stakeholder] = relationship()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_reason is not None


class CommentRevision(db.Model):
    """An earlier text of an edited comment (its visible edit history)."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentReaction(db.Model):
    """One user's agree / disagree / pass on a comment (changeable, one per user)."""

    __tablename__ = "comment_reactions"
    __table_args__ = (sa.UniqueConstraint("comment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    value: Mapped[Reaction] = mapped_column(enum_column(Reaction))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Position(db.Model):
    """Where a stakeholder stands on a proposal, and why (one per stakeholder)."""

    __tablename__ = "positions"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    stance: Mapped[PositionStance] = mapped_column(enum_column(PositionStance))
    interests: Mapped[list] = mapped_column(sa.JSON, default=list)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    conditions: Mapped[str] = mapped_column(sa.String(500), default="")
    condition_amendment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("amendments.id"))
    condition_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stakeholder: Mapped[Stakeholder] = relationship()


class PositionRevision(db.Model):
    """An earlier state of a position (positions have a history)."""

    __tablename__ = "position_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(sa.ForeignKey("positions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    stance: Mapped[PositionStance] = mapped_column(enum_column(PositionStance))
    interests: Mapped[list] = mapped_column(sa.JSON, default=list)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    conditions: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Amendment(db.Model):
    """A proposed new text against a given version, with a rationale."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    base_version: Mapped[int]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    rationale: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[AmendmentStatus] = mapped_column(
        enum_column(AmendmentStatus), default=AmendmentStatus.OPEN, index=True
    )
    support_count: Mapped[int] = mapped_column(default=0)
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resulting_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Stakeholder] = relationship()


class AmendmentSupport(db.Model):
    """A stakeholder supports an amendment (once)."""

    __tablename__ = "amendment_supports"
    __table_args__ = (sa.UniqueConstraint("amendment_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(sa.ForeignKey("amendments.id"), index=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(db.Model):
    """A report of a comment or proposal to the community's moderators."""

    __tablename__ = "reports"
    __table_args__ = (sa.UniqueConstraint("target_type", "target_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(sa.String(20))  # "comment" | "proposal"
    target_id: Mapped[int] = mapped_column(index=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[ReportStatus] = mapped_column(
        enum_column(ReportStatus), default=ReportStatus.OPEN, index=True
    )
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalSignature(db.Model):
    """How a resident stakeholder signs every contribution to one proposal.

    The one source of truth for comments, replies, positions, amendments and their
    support: chosen at the first contribution, then fixed, except that `resident` may
    become `named` (never back). Organisations have no row: they are always named.
    """

    __tablename__ = "proposal_signatures"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    mode: Mapped[Signature] = mapped_column(enum_column(Signature))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
