"""Proposals, their versions, invitations, timeline and followers; the milestones and
uploaded attachments that several families share (plans, tenders, requests)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, enum_column, utcnow
from coord.models import Community, User
from stakeholders.models import Stakeholder


class Visibility(enum.StrEnum):
    """Who can see a published proposal."""

    PUBLIC = "public"
    COMMUNITY = "community"  # members of the community: verified residents and its organisations
    INVITED = "invited"  # the author, invited stakeholders and the community's moderators


class Proposal(db.Model):
    """A consultation, request, plan or tender. The current text lives here and in its
    latest `ProposalVersion`; every published edit adds a version."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    status: Mapped[str] = mapped_column(sa.String(24), index=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.String(500))
    body_source: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    sanitizer_version: Mapped[int] = mapped_column(default=1)
    category: Mapped[str] = mapped_column(sa.String(40), default="", index=True)
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility), default=Visibility.PUBLIC
    )
    version: Mapped[int] = mapped_column(default=1)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    comment_count: Mapped[int] = mapped_column(default=0)
    #: Normalised title + summary + body for substring search (trigram-indexed on PostgreSQL).
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(300))
    open_reports: Mapped[int] = mapped_column(default=0)
    #: The recorded decision (adopt/reject): its text, who took it as which stakeholder, when.
    decision_text: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_as_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    author: Mapped[Stakeholder] = relationship(foreign_keys=[author_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decided_as: Mapped[Stakeholder | None] = relationship(foreign_keys=[decided_as_id])

    @property
    def is_hidden(self) -> bool:
        return self.hidden_reason is not None


class ProposalVersion(db.Model):
    """One version of a proposal's text (version 1 is the published original)."""

    __tablename__ = "proposal_versions"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.String(500))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    amendment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("amendments.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Stakeholder] = relationship()


class ProposalInvite(db.Model):
    """A stakeholder invited to a proposal with visibility `invited`."""

    __tablename__ = "proposal_invites"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)

    stakeholder: Mapped[Stakeholder] = relationship()


class ProposalTransition(db.Model):
    """A step on a proposal's timeline: a lifecycle transition and who made it."""

    __tablename__ = "proposal_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_state: Mapped[str | None] = mapped_column(sa.String(24))
    to_state: Mapped[str] = mapped_column(sa.String(24))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Stakeholder | None] = relationship()


class Follow(db.Model):
    """A user follows a proposal (authors and commenters automatically)."""

    __tablename__ = "follows"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(db.Model):
    """A milestone of an approved plan or an awarded tender."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    due_on: Mapped[datetime] = mapped_column(UTCDateTime)
    #: scheduled | met | not_met | partially_met
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MilestoneUpdate(db.Model):
    """A progress update on a milestone, with optional evidence."""

    __tablename__ = "milestone_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestones.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str | None] = mapped_column(sa.String(20))
    attachment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachments.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    """An uploaded file (PDF or image), checked by content, stored renamed outside static/."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    #: what it belongs to: "plan", "request", "milestone", "bid"
    purpose: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str] = mapped_column(sa.String(200))
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    is_sealed: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
