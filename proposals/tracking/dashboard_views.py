"""The supervision dashboard (blueprint ``dashboard``): figures, trend charts, CSV, items.

The street office and its departments (and the platform admin) see the full dashboard of
their street; everyone else sees the public aggregate of one community (by default
their own), where figures resting on fewer than ``DASHBOARD_MIN_GROUP`` items are hidden.
Every figure links to the list of the items behind it (`items`), which shows only what
the viewer may see.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from coord.db import db
from coord.models import Community, Street
from coord.permissions import is_platform_admin
from coord.web import int_arg
from proposals import permissions as perm
from proposals.models import Proposal
from proposals.tracking import charts
from proposals.tracking import dashboard as dash
from proposals.tracking.deadlines import local_tz
from proposals.tracking.models import Plan, ReviewStep, TrackedRequest
from proposals.tracking.permissions import government_street_ids
from stakeholders.models import ResidenceStatus, ResidentProfile, Stakeholder

bp = Blueprint("dashboard", __name__)

DEFAULT_DAYS = 84  # twelve weeks

METRIC_LABELS = {
    "received": _l("Requests received"),
    "open": _l("Open requests"),
    "overdue": _l("Overdue requests"),
    "first_response": _l("Requests with a first response (per handler's custody)"),
    "resolution": _l("Resolved requests"),
    "rated": _l("Rated requests"),
    "reopened": _l("Reopened requests"),
    "steps_pending": _l("Plan review steps pending"),
    "steps_overdue": _l("Plan review steps overdue"),
    "steps_decided": _l("Plan review steps decided"),
}
MAX_DAYS = 2 * 366


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


_EARLIEST, _LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _date_arg(name: str) -> date | None:
    """Read a date (YYYY-MM-DD) between 2000 and 2099; None when absent or malformed."""
    try:
        rv = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return rv if _EARLIEST <= rv <= _LATEST else None


def _home_community() -> int | None:
    if not current_user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(ResidentProfile.community_id).where(
            ResidentProfile.user_id == current_user.id,
            ResidentProfile.status == ResidenceStatus.VERIFIED,
        )
    )


def parse_view() -> View:
    """Parse and check the scope; 404 for unknown places."""
    today = dash.utcnow().astimezone(local_tz()).date()
    last = _date_arg("to") or today
    first = _date_arg("from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    user = current_user if current_user.is_authenticated else None
    streets_allowed = (
        set(db.session.scalars(sa.select(Street.id)))
        if is_platform_admin(user)
        else government_street_ids(user)
    )
    community_id = int_arg("community")
    community = db.session.get(Community, community_id) if community_id else None
    if community_id and community is None:
        abort(404)
    asked_street = int_arg("street")
    if asked_street and db.session.get(Street, asked_street) is None:
        abort(404)
    street_id = asked_street or (community.street_id if community else None)
    if street_id is None and streets_allowed:
        street_id = min(streets_allowed)
    full = street_id is not None and street_id in streets_allowed
    if not full:
        if community is None:
            community = db.session.get(Community, _home_community() or 0) or db.session.scalar(
                sa.select(Community).order_by(Community.id).limit(1)
            )
        if community is None:
            abort(404)
        street_id = community.street_id
    street = db.session.get(Street, street_id)
    if street is None or (community is not None and community.street_id != street_id):
        abort(404)
    handler_id = int_arg("handler")
    scope = dash.Scope.for_dates(
        street_id,
        first,
        last,
        community_id=community.id if community else None,
        handler_id=handler_id,
        public=not full,
    )
    streets = (
        list(db.session.scalars(sa.select(Street).where(Street.id.in_(streets_allowed))))
        if full
        else [street]
    )
    communities = list(
        db.session.scalars(
            sa.select(Community).where(Community.street_id == street_id).order_by(Community.id)
        )
    )
    handlers = list(
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
    return View(scope, first, last, streets, communities, handlers)


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _fmt(value: Any, n: int, board: dash.Dashboard, kind: str = "count") -> str:
    """Format a figure, or hide it in the public view when it rests on too few items.

    (Both languages group digits with a comma and use a decimal point.)
    """
    if not board.shown(value, n):
        return _("fewer than %(n)d", n=board.min_group)
    if value is None:
        return "—"
    if kind == "days":
        return _days(value)
    if kind == "rate":
        return f"{value * 100:.1f}".removesuffix(".0") + "%"
    if kind == "score":
        return f"{value:.2f}".rstrip("0").removesuffix(".") if value % 1 else f"{value:.1f}"
    return f"{value:,}"


def _linker(view: View) -> Any:
    """Return `href(metric, **dims)`: the items page behind a figure (built without the
    router: the dashboard has a few hundred of them)."""
    base = url_for(".items")
    args = view.args()

    def href(metric: str, **dims: Any) -> str:
        return f"{base}?{urlencode(args | dims | {'metric': metric})}"

    return href


def _charts(view: View, board: dash.Dashboard) -> dict[str, Markup]:
    trend = board.trend
    labels = [w.strftime("%m-%d") for w in trend.weeks]
    links = []
    for w in trend.weeks:
        first = max(w, view.first)
        last = min(w + timedelta(days=6), view.last)
        links.append(
            url_for(
                ".items",
                **view.args(
                    metric="received", **{"from": first.isoformat(), "to": last.isoformat()}
                ),
            )
        )
    public = board.scope.public

    def hide(values: list[Any], counts: list[int]) -> list[Any]:
        if not public:
            return values
        return [v if c >= board.min_group else None for v, c in zip(values, counts, strict=True)]

    received = hide(trend.received, trend.received)
    resolved = hide(trend.resolved, trend.resolved)
    volume = charts.bar_chart(
        labels,
        [
            charts.Series(
                _("Received"), [float(v) if v is not None else None for v in received], links=links
            ),
            charts.Series(_("Resolved"), [float(v) if v is not None else None for v in resolved]),
        ],
        title=_("Requests received and resolved per week"),
        desc=_("Weeks starting on the date shown; bars link to the requests received that week."),
        chart_id="chart-volume",
    )
    speed = charts.line_chart(
        labels,
        [
            charts.Series(
                _("Working days to resolution (average)"),
                hide(trend.mean_resolution, trend.resolved),
            ),
            charts.Series(
                _("Average satisfaction (1–5)"), hide(trend.satisfaction, trend.resolved)
            ),
        ],
        title=_("Speed and satisfaction per week"),
        desc=_(
            "Average working days from assignment to resolution, and the average rating, "
            "of the requests resolved each week."
        ),
        chart_id="chart-speed",
    )
    # proposals.tracking.charts escapes every text and attribute it writes.
    return {"volume": Markup(volume), "speed": Markup(speed)}  # noqa: S704


@bp.get("/dashboard")
def index():
    view = parse_view()
    board = dash.compute(view.scope)
    return render_template(
        "dashboard/index.html",
        view=view,
        board=board,
        charts=_charts(view, board),
        fmt=lambda value, n, kind="count": _fmt(value, n, board, kind),
        href=_linker(view),
    )


_CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Keep spreadsheet programs from running a cell as a formula."""
    if isinstance(value, str) and value.startswith(_CSV_DANGER):
        return "'" + value
    return value


def _num(value: float | None, board: dash.Dashboard, n: int, digits: int = 2) -> Any:
    if not board.shown(value, n) or value is None:
        return ""
    return round(value, digits)


@bp.get("/dashboard/export.csv")
def export():
    view = parse_view()
    board = dash.compute(view.scope)
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheet programs read UTF-8 with a BOM
    writer = csv.writer(out)
    writer.writerow(
        [
            "table",
            "id",
            "name",
            "received",
            "open",
            "overdue",
            "first_response_n",
            "first_response_median_workdays",
            "first_response_p90_workdays",
            "resolution_n",
            "resolution_median_workdays",
            "resolution_p90_workdays",
            "ratings",
            "satisfaction_average",
            "resolved_at_least_once",
            "reopened",
            "reopen_rate",
        ]
    )
    rows = [("total", board.total)]
    rows += [("handler", r) for r in board.by_handler]
    rows += [("community", r) for r in board.by_community]
    for table, r in rows:
        count = lambda v: v if board.shown(v, v) else ""  # noqa: E731
        writer.writerow(
            [
                table,
                r.key or "",
                _cell(r.name or (_("Not yet assigned") if table == "handler" else "")),
                count(r.received),
                count(r.open),
                count(r.overdue),
                count(r.first_response.n),
                _num(r.first_response.median, board, r.first_response.n),
                _num(r.first_response.p90, board, r.first_response.n),
                count(r.resolution.n),
                _num(r.resolution.median, board, r.resolution.n),
                _num(r.resolution.p90, board, r.resolution.n),
                count(r.rated),
                _num(r.satisfaction, board, r.rated),
                count(r.resolved_once),
                count(r.reopened),
                _num(r.reopen_rate, board, r.resolved_once, 4),
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            "table",
            "id",
            "name",
            "steps_pending",
            "steps_overdue",
            "steps_decided",
            "review_median_workdays",
        ]
    )
    for r in [board.steps_total, *board.by_owner]:
        writer.writerow(
            [
                "review_steps" if r.key else "review_steps_total",
                r.key or "",
                _cell(r.name),
                r.pending,
                r.overdue,
                r.decided,
                _num(r.review.median, board, r.review.n),
            ]
        )
    name = f"coord-dashboard-{view.first.isoformat()}-{view.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/dashboard/items")
def items():
    """The items behind one figure of the dashboard, as far as the viewer may see them."""
    view = parse_view()
    metric = request.args.get("metric", "")
    now = dash.utcnow()
    page_number = max(request.args.get("page", 1, type=int) or 1, 1)
    if metric in dash.REQUEST_METRICS:
        where = dash.request_condition(metric, view.scope, now)
        query = (
            sa.select(TrackedRequest)
            .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
            .options(sa.orm.contains_eager(TrackedRequest.proposal))
            .where(*where)
        )
        total = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(TrackedRequest)
            .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
            .where(*where)
        )
        query = query.where(perm.visible_filter(current_user)).order_by(
            TrackedRequest.submitted_at.desc(), Proposal.id.desc()
        )
        kind = "requests"
    elif metric in dash.STEP_METRICS:
        where = dash.step_condition(metric, view.scope, now)
        joined = (
            sa.select(ReviewStep)
            .join(Plan, Plan.id == ReviewStep.plan_id)
            .join(Proposal, Proposal.id == Plan.proposal_id)
            .where(*where)
        )
        total = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ReviewStep)
            .join(Plan, Plan.id == ReviewStep.plan_id)
            .join(Proposal, Proposal.id == Plan.proposal_id)
            .where(*where)
        )
        query = joined.where(perm.visible_filter(current_user)).order_by(
            ReviewStep.due_at.desc(), ReviewStep.id.desc()
        )
        kind = "steps"
    else:
        abort(404)
    page = db.paginate(query, page=page_number, per_page=50, error_out=False)
    if view.scope.public and total and total < dash.DEFAULT_MIN_GROUP:
        total = None  # the exact small count stays hidden, like on the dashboard
    plans_of: dict[int, Proposal] = {}
    if kind == "steps" and page.items:
        plans_of = dict(
            db.session.execute(
                sa.select(Plan.id, Proposal)
                .join(Proposal, Proposal.id == Plan.proposal_id)
                .where(Plan.id.in_({step.plan_id for step in page.items}))
            ).all()
        )
    ids = {item.handler_id if kind == "requests" else item.owner_id for item in page.items}
    ids.discard(None)
    names = (
        {s.id: s for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(ids)))}
        if ids
        else {}
    )
    return render_template(
        "dashboard/items.html",
        view=view,
        metric=metric,
        kind=kind,
        page=page,
        total=total,
        names=names,
        now=now,
        metric_label=METRIC_LABELS[metric],
        plans_of=plans_of,
    )
