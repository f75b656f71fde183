"""Tenders: details, panel and opening key shares, enquiries, sealed bids, conflict
declarations, scores, awards and challenges."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, enum_column, utcnow
from proposals.models import Proposal
from stakeholders.models import Stakeholder

MONEY = sa.Numeric(14, 2)


class TenderCategory(enum.StrEnum):
    GOODS = "goods"
    SERVICES = "services"
    WORKS = "works"


class Tender(db.Model):
    """The tender-specific part of a proposal of kind `tender`.

    Sealing: bids are encrypted to `public_key`; the private key is stored only wrapped
    with a key that is split (Shamir, k of n) among the panel members when the tender is
    published, each share shown once to its member and never stored in clear.
    """

    __tablename__ = "tenders"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), unique=True)
    category: Mapped[TenderCategory] = mapped_column(enum_column(TenderCategory))
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    budget_ceiling: Mapped[Decimal | None] = mapped_column(MONEY)
    budget_public: Mapped[bool] = mapped_column(default=True)
    verified_only: Mapped[bool] = mapped_column(default=True)
    conditions: Mapped[str] = mapped_column(sa.Text, default="")
    #: [{"key", "name", "kind": "price"|"quality", "weight"}], weights summing to 100.
    criteria: Mapped[list] = mapped_column(sa.JSON, default=list)
    enquiry_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bid_deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opening_at: Mapped[datetime] = mapped_column(UTCDateTime)
    standstill_days: Mapped[int] = mapped_column(default=10)
    public_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    wrapped_private_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    shares_needed: Mapped[int] = mapped_column(default=2)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    opening_record: Mapped[dict | None] = mapped_column(sa.JSON)
    winner_bid_id: Mapped[int | None]  # a Bid id (no foreign key: bids reference tenders)
    award_justification: Mapped[str] = mapped_column(sa.Text, default="")
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    award_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()


class Panelist(db.Model):
    """A member of a tender's evaluation panel and the digest of their opening share."""

    __tablename__ = "panelists"
    __table_args__ = (sa.UniqueConstraint("tender_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    share_index: Mapped[int]
    share_digest: Mapped[str] = mapped_column(sa.String(64), default="")
    #: The share, encrypted with the platform data key until its member takes it; erased then.
    share_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    share_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Enquiry(db.Model):
    """A question during the enquiry period, answered publicly; the asker is "Bidder n"."""

    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    asker_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    bidder_number: Mapped[int]
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BidStatus(enum.StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"
    WITHDRAWN = "withdrawn"


class Bid(db.Model):
    """One version of a bidder's sealed bid. Nothing readable before opening: `sealed`
    holds the encrypted price, text and attachment digests; `receipt` is its SHA-256."""

    __tablename__ = "bids"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    receipt: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus), default=BidStatus.ACTIVE)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Filled in at opening:
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    proposal_source: Mapped[str | None] = mapped_column(sa.Text)
    proposal_html: Mapped[str | None] = mapped_column(sa.Text)
    opening_error: Mapped[str | None] = mapped_column(sa.String(300))
    disqualified_reason: Mapped[str | None] = mapped_column(sa.String(500))

    bidder: Mapped[Stakeholder] = relationship()

    @property
    def is_qualified(self) -> bool:
        """An opened bid is evaluated unless it was flagged at opening or disqualified."""
        return self.price is not None and not self.opening_error and not self.disqualified_reason


class ConflictDeclaration(db.Model):
    """A panel member's tie to a bidder found in the network, and what they declared."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (sa.UniqueConstraint("tender_id", "user_id", "bidder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    bidder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    paths: Mapped[list] = mapped_column(sa.JSON, default=list)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    recused: Mapped[bool] = mapped_column(default=False)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Score(db.Model):
    """A panel member's 0–100 score of one bid on one quality criterion."""

    __tablename__ = "scores"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", "user_id", "criterion"),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    criterion: Mapped[str] = mapped_column(sa.String(40))
    score: Mapped[int]
    justification: Mapped[str] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Challenge(db.Model):
    """A bidder's challenge of the award during the standstill period."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tenders.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    #: [{"by": "buyer"|"bidder", "user_id", "text", "at"}]
    messages: Mapped[list] = mapped_column(sa.JSON, default=list)
    outcome: Mapped[str] = mapped_column(sa.String(20), default="open")  # open|upheld|dismissed
    outcome_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
