"""Reading for the tracking pages and their JSON: loading what a viewer may see, lists,
names in one query, and the dashboard's scope from a query string.

Nothing here writes. Loaders answer 404 (`abort`) for what does not exist or may not be
seen, like `db.get_or_404`, so that the pages and the JSON API load alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, url_for
from flask_babel import gettext as _

from coord.db import db, utcnow
from coord.models import Community, Grid, Street, User
from coord.permissions import is_platform_admin, require
from coord.tasks import Highlight, Section, Task
from coord.web import MAX_ID
from proposals import permissions as perm
from proposals.models import Attachment, Milestone, MilestoneUpdate, Proposal, Visibility
from proposals.tracking import dashboard as dash
from proposals.tracking.deadlines import local_tz
from proposals.tracking.models import Plan, ReviewStep, TrackedRequest
from proposals.tracking.permissions import plan_of, tracked_request_of
from proposals.tracking.requests import OPEN_STATES
from stakeholders.models import ResidenceStatus, ResidentProfile, Stakeholder
from stakeholders.permissions import government_street_ids
from stakeholders.queries import speaker_ids

#: Request lists the requests page offers (`request_list`).
REQUEST_VIEWS = ("all", "mine", "triage", "handling")


# -- Loading -----------------------------------------------------------------------------------


def visible_proposal(proposal_id: int, kind: str, user: User | None) -> Proposal:
    """Return a proposal of `kind` the user may see; 404 otherwise."""
    proposal = db.get_or_404(Proposal, proposal_id)
    require(proposal.kind == kind and perm.can_view(user, proposal), 404)
    return proposal


def visible_tracked_request(proposal_id: int, user: User | None) -> TrackedRequest:
    """Return the tracking part of a request the user may see; 404 otherwise."""
    rv = tracked_request_of(visible_proposal(proposal_id, "request", user).id)
    if rv is None:
        abort(404)
    return rv


def visible_plan(proposal_id: int, user: User | None) -> Plan:
    """Return the plan part of a plan the user may see; 404 otherwise."""
    rv = plan_of(visible_proposal(proposal_id, "plan", user).id)
    if rv is None:
        abort(404)
    return rv


def visible_milestone(milestone_id: int, user: User | None) -> tuple[Milestone, Proposal]:
    """Return a milestone and its plan's proposal, if the user may see it; 404 otherwise."""
    milestone = db.get_or_404(Milestone, milestone_id)
    proposal = db.get_or_404(Proposal, milestone.proposal_id)
    require(perm.can_view(user, proposal), 404)
    return milestone, proposal


def stakeholders_by_id(ids: Iterable[int | None]) -> dict[int, Stakeholder]:
    """Return the stakeholders with these ids (None skipped), in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(wanted)))
    return {s.id: s for s in rows}


def stakeholder_by_id(stakeholder_id: int | None) -> list[Stakeholder]:
    """Return the stakeholder with this id as a list (empty when there is none)."""
    if stakeholder_id is None:
        return []
    return list(db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id == stakeholder_id)))


def attachments_of(proposal_id: int) -> list[Attachment]:
    """Return the unsealed attachments of a proposal, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.proposal_id == proposal_id, Attachment.is_sealed.is_(False))
            .order_by(Attachment.id)
        )
    )


def all_communities() -> list[Community]:
    """Return every community, in the order they were created."""
    return list(db.session.scalars(sa.select(Community).order_by(Community.id)))


def all_grids() -> list[Grid]:
    """Return every grid, by community and number."""
    return list(db.session.scalars(sa.select(Grid).order_by(Grid.community_id, Grid.number)))


def home_community_id(user: User | None) -> int | None:
    """Return the community where the user is a verified resident, if any."""
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(ResidentProfile.community_id).where(
            ResidentProfile.user_id == user.id,
            ResidentProfile.status == ResidenceStatus.VERIFIED,
        )
    )


# -- Lists -------------------------------------------------------------------------------------


def request_list(
    user: User | None,
    actor_id: int | None,
    view: str,
    community_id: int | None = None,
    status: str | None = None,
) -> sa.Select:
    """Select the visible requests of one list (`REQUEST_VIEWS`), newest first."""
    query = (
        sa.select(TrackedRequest)
        .join(Proposal, TrackedRequest.proposal_id == Proposal.id)
        .where(Proposal.kind == "request", perm.visible_filter(user))
        .options(sa.orm.contains_eager(TrackedRequest.proposal).joinedload(Proposal.community))
    )
    if view == "mine" and actor_id is not None:
        query = query.where(Proposal.author_id == actor_id)
    elif view == "triage":
        query = query.where(
            Proposal.community_id.in_(perm.committee_ids(user) or [0]),
            Proposal.status == "submitted",
            TrackedRequest.handler_id.is_(None),
        )
    elif view == "handling" and actor_id is not None:
        query = query.where(TrackedRequest.handler_id == actor_id, Proposal.status.in_(OPEN_STATES))
    if community_id:
        query = query.where(Proposal.community_id == community_id)
    if status:
        query = query.where(Proposal.status == status)
    return query.order_by(TrackedRequest.submitted_at.desc(), Proposal.id.desc())


def steps_waiting_for(stakeholder_id: int) -> list[tuple[ReviewStep, Proposal]]:
    """Return the pending review steps a stakeholder owns, soonest due first."""
    return list(
        db.session.execute(
            sa.select(ReviewStep, Proposal)
            .join(Plan, Plan.id == ReviewStep.plan_id)
            .join(Proposal, Proposal.id == Plan.proposal_id)
            .where(
                ReviewStep.owner_id == stakeholder_id,
                ReviewStep.decision == "pending",
                Proposal.status == "under_review",
            )
            .order_by(ReviewStep.due_at)
        ).all()
    )


def linkable_consultations(community_ids: list[int]) -> list[Proposal]:
    """Return the public consultations of these communities a plan may link, newest first."""
    return list(
        db.session.scalars(
            sa.select(Proposal)
            .where(
                Proposal.kind == "consultation",
                Proposal.community_id.in_(community_ids or [0]),
                Proposal.published_at.is_not(None),
                Proposal.visibility == Visibility.PUBLIC,
            )
            .order_by(Proposal.id.desc())
            .limit(200)
        )
    )


@dataclass(frozen=True)
class MilestoneLog:
    """A plan's milestones, their updates (per milestone) and who wrote them."""

    milestones: list[Milestone]
    updates: dict[int, list[MilestoneUpdate]]
    names: dict[int, Stakeholder]


def milestone_log(proposal_id: int) -> MilestoneLog:
    """Return the milestones of a plan with their updates (two queries at most)."""
    milestones = list(
        db.session.scalars(
            sa.select(Milestone)
            .where(Milestone.proposal_id == proposal_id)
            .order_by(Milestone.due_on, Milestone.id)
        )
    )
    rv = MilestoneLog(milestones, {}, {})
    if not milestones:
        return rv
    rows = db.session.execute(
        sa.select(MilestoneUpdate, Stakeholder)
        .join(Stakeholder, Stakeholder.id == MilestoneUpdate.actor_id)
        .where(MilestoneUpdate.milestone_id.in_([m.id for m in milestones]))
        .order_by(MilestoneUpdate.id)
    ).all()
    for update, who in rows:
        rv.updates.setdefault(update.milestone_id, []).append(update)
        rv.names[who.id] = who
    return rv


# -- The dashboard's scope ---------------------------------------------------------------------

DEFAULT_DAYS = 84  # twelve weeks
MAX_DAYS = 2 * 366
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class View:
    """The parsed request: the scope, the dates and whether the full dashboard is shown."""

    scope: dash.Scope
    first: date
    last: date
    streets: list[Street]
    communities: list[Community]
    handlers: list[Stakeholder]

    @property
    def full(self) -> bool:
        return not self.scope.public

    def args(self, **extra: Any) -> dict[str, Any]:
        """The query arguments of this view (for links), overridden by `extra`."""
        rv = {
            "street": self.scope.street_id,
            "community": self.scope.community_id,
            "handler": self.scope.handler_id,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
        }
        rv.update(extra)
        return {k: v for k, v in rv.items() if v is not None}


def _date_arg(args: Mapping[str, str], name: str) -> date | None:
    """Read a date (YYYY-MM-DD) between 2000 and 2099; None when absent or malformed."""
    try:
        rv = date.fromisoformat(args.get(name, ""))
    except ValueError:
        return None
    return rv if EARLIEST <= rv <= LATEST else None


def _id_arg(args: Mapping[str, str], name: str) -> int | None:
    value = args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


def _dates(args: Mapping[str, str]) -> tuple[date, date]:
    """The first and last local day asked for (twelve weeks up to today by default)."""
    today = utcnow().astimezone(local_tz()).date()
    last = _date_arg(args, "to") or today
    first = _date_arg(args, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


def _place(
    args: Mapping[str, str], user: User | None, streets_allowed: set[int]
) -> tuple[Street, Community | None, bool]:
    """The street and community asked for, and whether the viewer sees the full dashboard
    there (else the public aggregate of one community: asked for, their own or the first)."""
    community_id = _id_arg(args, "community")
    community = db.session.get(Community, community_id) if community_id else None
    if community_id and community is None:
        abort(404)
    asked_street = _id_arg(args, "street")
    if asked_street and db.session.get(Street, asked_street) is None:
        abort(404)
    street_id = asked_street or (community.street_id if community else None)
    if street_id is None and streets_allowed:
        street_id = min(streets_allowed)
    full = street_id is not None and street_id in streets_allowed
    if not full:
        community = community or _default_community(user)
        if community is None:
            abort(404)
        street_id = community.street_id
    street = db.session.get(Street, street_id)
    if street is None or (community is not None and community.street_id != street_id):
        abort(404)
    return street, community, full


def _default_community(user: User | None) -> Community | None:
    """The community of the public view when none is asked for: the viewer's, else the first."""
    return db.session.get(Community, home_community_id(user) or 0) or db.session.scalar(
        sa.select(Community).order_by(Community.id).limit(1)
    )


def _street_handlers(street_id: int) -> list[Stakeholder]:
    return list(
        db.session.scalars(
            sa.select(Stakeholder)
            .where(
                Stakeholder.street_id == street_id,
                Stakeholder.kind != "resident",
                Stakeholder.deleted_at.is_(None),
            )
            .order_by(Stakeholder.name)
        )
    )


def parse_view(args: Mapping[str, str], user: User | None) -> View:
    """Parse and check the dashboard's scope from query arguments; 404 for unknown places."""
    first, last = _dates(args)
    user = user if user is not None and user.is_authenticated else None
    streets_allowed = (
        set(db.session.scalars(sa.select(Street.id)))
        if is_platform_admin(user)
        else government_street_ids(user)
    )
    street, community, full = _place(args, user, streets_allowed)
    scope = dash.Scope.for_dates(
        street.id,
        first,
        last,
        community_id=community.id if community else None,
        handler_id=_id_arg(args, "handler"),
        public=not full,
    )
    streets = (
        list(db.session.scalars(sa.select(Street).where(Street.id.in_(streets_allowed))))
        if full
        else [street]
    )
    communities = list(
        db.session.scalars(
            sa.select(Community).where(Community.street_id == street.id).order_by(Community.id)
        )
    )
    return View(scope, first, last, streets, communities, _street_handlers(street.id))


# -- The home page -----------------------------------------------------------------------------


def review_tasks(user: User) -> list[Task]:
    """List the active review steps owned by an organisation the user belongs to."""
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.title, ReviewStep.due_at)
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(
            ReviewStep.decision == "pending",
            ReviewStep.activated_at.is_not(None),
            ReviewStep.owner_id.in_(speaker_ids(user)),
        )
    )
    label = str(_("Review step"))
    return [
        Task(r.title, url_for("proposals.detail", proposal_id=r.id), r.due_at, label) for r in rows
    ]


def request_tasks(user: User) -> list[Task]:
    """List the open requests assigned to an organisation the user belongs to."""
    due = sa.case(
        (TrackedRequest.first_response_at.is_(None), TrackedRequest.first_response_due_at),
        else_=TrackedRequest.resolution_due_at,
    )
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.title, due.label("due_at"))
        .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
        .where(dash.is_open(), TrackedRequest.handler_id.in_(speaker_ids(user)))
    )
    label = str(_("Request"))
    return [
        Task(r.title, url_for("proposals.detail", proposal_id=r.id), r.due_at, label) for r in rows
    ]


def _public_count(n: int) -> str:
    """Show a count, or "fewer than 5" when it is small (the public dashboard's rule)."""
    least = int(current_app.config.get("DASHBOARD_MIN_GROUP") or dash.DEFAULT_MIN_GROUP)
    return str(n) if n == 0 or n >= least else _("fewer than %(n)d", n=least)


def public_figures() -> Section:
    """Count the requests of the last 30 days, those open and those overdue (one query)."""
    now = utcnow()
    recent = TrackedRequest.submitted_at >= now - timedelta(days=30)
    figures = dash.count_where(recent), dash.count_where(dash.is_open())
    row = db.session.execute(sa.select(*figures, dash.count_where(dash.is_overdue(now)))).one()
    received, handling, overdue = (_public_count(n) for n in row)
    href = url_for("dashboard.index")
    items = [
        Highlight(_("Requests received in the last 30 days: %(n)s", n=received), href),
        Highlight(_("Requests being handled: %(n)s", n=handling), href),
        Highlight(_("Requests past their deadline: %(n)s", n=overdue), href),
    ]
    return Section(_("Public service figures"), items, order=40)
