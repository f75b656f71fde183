"""Polls, their electorate snapshot, who took part, ballots and stored results.

Secret polls keep `Participation` (who voted) and the ballots (what was voted) apart. While
a secret poll is open its ballots are `SealedBallot`s: encrypted under a key the database
does not hold, random id, no voter, no time. At close they are decrypted into `Ballot`s in
random order with fresh ids, in one transaction, and the sealed copies deleted
(docs/voting.md).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, enum_column, utcnow
from coord.models import Community
from proposals.models import Proposal


class PollStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Poll(db.Model):
    """A vote on a proposal or stand-alone in a community (e.g. electing a committee).

    `settings` holds the method's parameters and the rules: eligibility, voter unit, group
    rule and weights, quorums, threshold — frozen once the first ballot is cast.
    """

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    method: Mapped[str] = mapped_column(sa.String(20))
    options: Mapped[list] = mapped_column(sa.JSON)
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    is_secret: Mapped[bool] = mapped_column(default=False)
    live_results: Mapped[bool] = mapped_column(default=False)
    status: Mapped[PollStatus] = mapped_column(
        enum_column(PollStatus), default=PollStatus.SCHEDULED
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    electorate_size: Mapped[int] = mapped_column(default=0)
    #: The stored, immutable result (overall, per kind, turnout, quorum) and digests.
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    ballots_digest: Mapped[str | None] = mapped_column(sa.String(64))

    community: Mapped[Community] = relationship()
    proposal: Mapped[Proposal | None] = relationship()

    def state_at(self, now: datetime) -> PollStatus:
        """Return the status time has decided by `now`, before the tick stores it."""
        if self.status in (PollStatus.SCHEDULED, PollStatus.OPEN):
            if self.closes_at <= now:
                return PollStatus.CLOSED
            if self.opens_at <= now:
                return PollStatus.OPEN
        return self.status

    @property
    def state(self) -> PollStatus:
        """The effective status now: a poll past its opening or closing time shows as such."""
        return self.state_at(utcnow())

    @property
    def is_counting(self) -> bool:
        """Tell whether the poll has closed by time but the tick has not counted it yet."""
        return self.status != PollStatus.CLOSED and self.state == PollStatus.CLOSED


class Elector(db.Model):
    """One member of a poll's electorate, snapshotted when the poll opens."""

    __tablename__ = "electors"
    __table_args__ = (sa.UniqueConstraint("poll_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))


class Participation(db.Model):
    """That a voter took part (never what they chose). Unique: one ballot per voter."""

    __tablename__ = "participations"
    __table_args__ = (sa.UniqueConstraint("poll_id", "voter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    voter_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


class Ballot(db.Model):
    """A ballot's content. For secret polls: written only at close, shuffled; no voter, no time."""

    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    content: Mapped[dict] = mapped_column(sa.JSON)
    receipt: Mapped[str] = mapped_column(sa.String(64), unique=True)
    voter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SealedBallot(db.Model):
    """A secret ballot while its poll is open: encrypted content, random id, no voter, no time.

    `sealed` (voting.sealing) holds the choice, the elector kind and the receipt code, padded
    to one size per poll, under a per-poll key derived from the server's data key.
    """

    __tablename__ = "sealed_ballots"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
