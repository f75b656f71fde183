"""Read-only JSON of the supervision dashboard, of a request's handling and of a plan's review.

Same rules as the pages: the dashboard's scope and visibility (full for the street office
and its departments, the public aggregate of one community otherwise, with small groups
hidden as ``null`` and ``"hidden": true``), and only proposals the caller may see.
Registered under the tracking blueprint (``/api/v1/…``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request
from flask_login import current_user

from coord.api import api_blueprint
from proposals.tracking import dashboard as dash
from proposals.tracking import plans, queries, requests
from stakeholders.models import Stakeholder

bp = api_blueprint("tracking_api", __name__)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _figure(board: dash.Dashboard, value: Any, n: int) -> dict[str, Any]:
    if not board.shown(value, n):
        return {"value": None, "n": None, "hidden": True}
    return {"value": value, "n": n, "hidden": False}


def _stats(board: dash.Dashboard, stats: dash.Stats) -> dict[str, Any]:
    if not board.shown(stats.median, stats.n):
        return {"n": None, "median": None, "p90": None, "hidden": True}
    return {"n": stats.n, "median": stats.median, "p90": stats.p90, "hidden": False}


def _row(board: dash.Dashboard, row: dash.Row) -> dict[str, Any]:
    return {
        "id": row.key,
        "name": row.name,
        "received": _figure(board, row.received, row.received),
        "open": _figure(board, row.open, row.open),
        "overdue": _figure(board, row.overdue, row.overdue),
        "resolved_late": _figure(board, row.resolved_late, row.resolved_late),
        "first_response_workdays": _stats(board, row.first_response),
        "resolution_workdays": _stats(board, row.resolution),
        "satisfaction": _figure(board, row.satisfaction, row.rated),
        "reopen_rate": _figure(board, row.reopen_rate, row.resolved_once),
    }


@bp.get("/dashboard")
def dashboard():
    """The dashboard's figures for the scope of the query (see the dashboard page)."""
    view = queries.parse_view(request.args, current_user)
    board = dash.compute(view.scope)
    steps = [
        {
            "id": r.key,
            "name": r.name,
            "pending": r.pending,
            "overdue": r.overdue,
            "decided": r.decided,
            "decided_late": r.late,
            "review_workdays": _stats(board, r.review),
        }
        for r in [board.steps_total, *board.by_owner]
    ]
    return jsonify(
        scope={
            "street": view.scope.street_id,
            "community": view.scope.community_id,
            "handler": view.scope.handler_id,
            "from": view.first.isoformat(),
            "to": view.last.isoformat(),
            "public": view.scope.public,
            "min_group": board.min_group,
        },
        total=_row(board, board.total),
        handlers=[_row(board, r) for r in board.by_handler],
        communities=[_row(board, r) for r in board.by_community],
        review_steps=steps,
        trend={
            "weeks": [w.isoformat() for w in board.trend.weeks],
            "received": board.trend.received if not view.scope.public else None,
            "resolved": board.trend.resolved if not view.scope.public else None,
        },
    )


def _name(names: dict[int, Stakeholder], stakeholder_id: int | None) -> dict[str, Any] | None:
    if stakeholder_id is None:
        return None
    who = names.get(stakeholder_id)
    return {"id": stakeholder_id, "name": who.name if who else ""}


@bp.get("/requests/<int:proposal_id>/handling")
def request_handling(proposal_id: int):
    """A request's handler, deadlines, chain of custody and rating."""
    tracked = queries.visible_tracked_request(proposal_id, current_user)
    proposal = tracked.proposal
    events = requests.events_of(tracked)
    ids = {tracked.handler_id} | {e.actor_id for e in events}
    ids |= {e.from_handler_id for e in events} | {e.to_handler_id for e in events}
    names = queries.stakeholders_by_id(ids)
    deadlines = requests.deadlines(tracked)
    return jsonify(
        id=proposal.id,
        status=proposal.status,
        category=tracked.category,
        handler=_name(names, tracked.handler_id),
        first_response={
            "due_at": _when(tracked.first_response_due_at),
            "at": _when(tracked.first_response_at),
            "overdue": deadlines["first_response"].is_overdue,
        },
        resolution={
            "due_at": _when(tracked.resolution_due_at),
            "at": _when(tracked.resolved_at),
            "overdue": deadlines["resolution"].is_overdue,
            "workdays": tracked.resolution_workdays,
        },
        reopen_count=tracked.reopen_count,
        satisfaction=tracked.satisfaction,
        custody=[
            {
                "type": e.type,
                "at": _when(e.created_at),
                "by": _name(names, e.actor_id),
                "from": _name(names, e.from_handler_id),
                "to": _name(names, e.to_handler_id),
                "text": e.text,
                "responded_at": _when(e.responded_at),
            }
            for e in events
        ],
    )


@bp.get("/plans/<int:proposal_id>/review")
def plan_review(proposal_id: int):
    """A plan's route, its review steps in every round and the published decision."""
    plan = queries.visible_plan(proposal_id, current_user)
    proposal = plan.proposal
    rows = plans.steps_of(plan)
    state = plans.state_of(plan, rows) if plan.route else None
    return jsonify(
        id=proposal.id,
        status=proposal.status,
        budget=str(plan.budget) if plan.budget is not None else None,
        route=plan.route,
        round=plan.round,
        outcome=state.outcome if state else None,
        steps=[
            {
                "round": r.round,
                "step": r.step_key,
                "group": r.group_index,
                "owner": {"id": r.owner_id, "name": r.owner.name},
                "version": r.version,
                "activated_at": _when(r.activated_at),
                "due_at": _when(r.due_at),
                "decision": r.decision,
                "opinion": r.opinion,
                "decided_at": _when(r.decided_at),
            }
            for r in rows
        ],
        decision={
            "at": _when(plan.decided_at),
            "opinion": plan.signoff_opinion,
        }
        if plan.decided_at
        else None,
    )
