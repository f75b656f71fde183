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
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from coord.db import db, utcnow
from coord.models import User
from proposals import permissions as perm
from proposals.models import Proposal
from proposals.tracking import charts
from proposals.tracking import dashboard as dash
from proposals.tracking.deadlines import missing_years
from proposals.tracking.models import Plan, ReviewStep, TrackedRequest
from proposals.tracking.permissions import can_edit_calendar
from proposals.tracking.queries import View, parse_view, stakeholders_by_id

bp = Blueprint("dashboard", __name__)

METRIC_LABELS = {
    "received": _l("Requests received"),
    "open": _l("Open requests"),
    "overdue": _l("Overdue requests"),
    "first_response": _l("Requests with a first response (per handler's custody)"),
    "resolution": _l("Resolved requests"),
    "rated": _l("Rated requests"),
    "reopened": _l("Reopened requests"),
    "resolved_late": _l("Requests resolved late"),
    "steps_pending": _l("Plan review steps pending"),
    "steps_overdue": _l("Plan review steps overdue"),
    "steps_decided": _l("Plan review steps decided"),
    "steps_late": _l("Plan review steps decided late"),
}


def _view() -> View:
    return parse_view(request.args, current_user)


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
    # charts escapes every text and attribute it writes (test_text_and_links_are_escaped),
    # and its inputs are labels and numbers: the SVG is safe as it is.
    return {"volume": Markup(volume), "speed": Markup(speed)}  # noqa: S704


@bp.get("/dashboard")
def index():
    view = _view()
    board = dash.compute(view.scope)
    return render_template(
        "dashboard/index.html",
        view=view,
        board=board,
        missing_years=missing_years(utcnow()),
        can_edit_calendar=can_edit_calendar(current_user),
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


#: The columns of the CSV export's two tables.
REQUEST_COLUMNS = (
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
    "resolved_late",
)
STEP_COLUMNS = (
    "table",
    "id",
    "name",
    "steps_pending",
    "steps_overdue",
    "steps_decided",
    "review_median_workdays",
    "steps_decided_late",
)


def _request_lines(board: dash.Dashboard) -> Iterator[list[Any]]:
    """The request figures: the total, then per handler and per community."""

    def count(v: int) -> Any:
        return v if board.shown(v, v) else ""

    rows = [("total", board.total)]
    rows += [("handler", r) for r in board.by_handler]
    rows += [("community", r) for r in board.by_community]
    for table, r in rows:
        yield [
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
            count(r.resolved_late),
        ]


def _step_lines(board: dash.Dashboard) -> Iterator[list[Any]]:
    """The review-step figures: the total, then per owner."""
    for r in [board.steps_total, *board.by_owner]:
        yield [
            "review_steps" if r.key else "review_steps_total",
            r.key or "",
            _cell(r.name),
            r.pending,
            r.overdue,
            r.decided,
            _num(r.review.median, board, r.review.n),
            r.late,
        ]


@bp.get("/dashboard/export.csv")
def export():
    view = _view()
    board = dash.compute(view.scope)
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheet programs read UTF-8 with a BOM
    writer = csv.writer(out)
    writer.writerow(REQUEST_COLUMNS)
    writer.writerows(_request_lines(board))
    writer.writerow([])
    writer.writerow(STEP_COLUMNS)
    writer.writerows(_step_lines(board))
    name = f"coord-dashboard-{view.first.isoformat()}-{view.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _request_items(
    metric: str, view: View, now: datetime, user: User | None
) -> tuple[sa.Select, int | None]:
    """The visible requests behind a figure, and how many there are in all."""
    where = dash.request_condition(metric, view.scope, now)
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TrackedRequest)
        .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
        .where(*where)
    )
    query = (
        sa.select(TrackedRequest)
        .join(Proposal, Proposal.id == TrackedRequest.proposal_id)
        .options(sa.orm.contains_eager(TrackedRequest.proposal))
        .where(*where, perm.visible_filter(user))
        .order_by(TrackedRequest.submitted_at.desc(), Proposal.id.desc())
    )
    return query, total


def _step_items(
    metric: str, view: View, now: datetime, user: User | None
) -> tuple[sa.Select, int | None]:
    """The visible review steps behind a figure, and how many there are in all."""
    where = dash.step_condition(metric, view.scope, now)
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ReviewStep)
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(*where)
    )
    query = (
        sa.select(ReviewStep)
        .join(Plan, Plan.id == ReviewStep.plan_id)
        .join(Proposal, Proposal.id == Plan.proposal_id)
        .where(*where, perm.visible_filter(user))
        .order_by(ReviewStep.due_at.desc(), ReviewStep.id.desc())
    )
    return query, total


def _plans_of(steps: list[ReviewStep]) -> dict[int, Proposal]:
    """The proposal of each step's plan, by plan id (one query)."""
    if not steps:
        return {}
    return dict(
        db.session.execute(
            sa.select(Plan.id, Proposal)
            .join(Proposal, Proposal.id == Plan.proposal_id)
            .where(Plan.id.in_({step.plan_id for step in steps}))
        ).all()
    )


@bp.get("/dashboard/items")
def items():
    """The items behind one figure of the dashboard, as far as the viewer may see them."""
    view = _view()
    metric = request.args.get("metric", "")
    now = utcnow()
    page_number = max(request.args.get("page", 1, type=int) or 1, 1)
    if metric in dash.REQUEST_METRICS:
        kind, (query, total) = "requests", _request_items(metric, view, now, current_user)
    elif metric in dash.STEP_METRICS:
        kind, (query, total) = "steps", _step_items(metric, view, now, current_user)
    else:
        abort(404)
    page = db.paginate(query, page=page_number, per_page=50, error_out=False)
    if view.scope.public and total and total < dash.DEFAULT_MIN_GROUP:
        total = None  # the exact small count stays hidden, like on the dashboard
    steps = kind == "steps"
    return render_template(
        "dashboard/items.html",
        view=view,
        metric=metric,
        kind=kind,
        page=page,
        total=total,
        names=stakeholders_by_id(
            item.owner_id if steps else item.handler_id for item in page.items
        ),
        now=now,
        metric_label=METRIC_LABELS[metric],
        plans_of=_plans_of(page.items) if steps else {},
    )
