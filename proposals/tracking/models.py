"""Plan approvals and tracked requests: review steps, request custody and deadlines, and
the local adjustments of the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.db import UTCDateTime, db, utcnow
from proposals.models import Proposal
from stakeholders.models import Stakeholder


class Plan(db.Model):
    """The plan-specific part of a proposal of kind `plan` (方案报批).

    `route` is the review route set by the street office (groups of parallel steps, run in
    sequence); the decisions live in `ReviewStep` rows, one per step and round.
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), unique=True)
    street_office_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    schedule: Mapped[str] = mapped_column(sa.Text, default="")
    consultation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    #: [[{"id", "owner_id", "due_workdays"}, ...], ...]: groups of parallel steps.
    route: Mapped[list] = mapped_column(sa.JSON, default=list)
    round: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signoff_opinion: Mapped[str] = mapped_column(sa.Text, default="")

    proposal: Mapped[Proposal] = relationship(foreign_keys=[proposal_id])


class ReviewStep(db.Model):
    """One reviewer's step of a plan in one round: due time, decision and written opinion."""

    __tablename__ = "review_steps"
    __table_args__ = (sa.UniqueConstraint("plan_id", "round", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"), index=True)
    round: Mapped[int]
    group_index: Mapped[int]
    step_key: Mapped[str] = mapped_column(sa.String(40))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    #: pending | approved | changes_requested | rejected | not_needed
    decision: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[Stakeholder] = relationship()


class TrackedRequest(db.Model):
    """The tracking part of a proposal of kind `request` (诉求): handler, deadlines, rating."""

    __tablename__ = "tracked_requests"
    __table_args__ = (
        # The supervision dashboard's figures come from this index alone (tracking.dashboard).
        sa.Index(
            "ix_tracked_requests_dashboard",
            "community_id",
            "submitted_at",
            "handler_id",
            "assigned_at",
            "resolved_at",
            "closed_at",
            "first_response_at",
            "first_response_due_at",
            "resolution_due_at",
            "satisfaction",
            "reopen_count",
            "resolution_workdays",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), unique=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("communities.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(40), default="other", index=True)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id"))
    handlers_only: Mapped[bool] = mapped_column(default=False)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(default=0)
    #: Working days from the first assignment to the (last) resolution, set when resolved.
    resolution_workdays: Mapped[float | None]
    satisfaction: Mapped[int | None]
    satisfaction_comment: Mapped[str] = mapped_column(sa.String(500), default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))

    proposal: Mapped[Proposal] = relationship(foreign_keys=[proposal_id])
    handler: Mapped[Stakeholder | None] = relationship()


class RequestEvent(db.Model):
    """A step in a request's chain of custody: assigned, transferred, progress, resolved…"""

    __tablename__ = "request_events"
    __table_args__ = (
        # Each custody's first response, for the dashboard (proposals.tracking.dashboard).
        sa.Index(
            "ix_request_events_custody",
            "type",
            "request_id",
            "to_handler_id",
            "responded_at",
            "response_workdays",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("tracked_requests.id"), index=True)
    type: Mapped[str] = mapped_column(sa.String(20))
    from_handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    to_handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: On an `assigned` or `transferred` event (the start of a handler's custody): when the
    #: receiving handler first acted on the request (the custody's first response).
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Working days from the start of the custody to `responded_at`.
    response_workdays: Mapped[float | None]


class WorkdayAdjustment(db.Model):
    """A local change to the working-day calendar, over the official holidays: a day off
    (a typhoon), a worked day, or a day of a year the holiday package does not know yet."""

    __tablename__ = "workday_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    is_working_day: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkdayYear(db.Model):
    """A year whose holidays are all entered as adjustments (declared by the street office),
    so that the calendar knows it before the holiday package does."""

    __tablename__ = "workday_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
