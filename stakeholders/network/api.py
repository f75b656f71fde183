"""JSON API of the network: node-link graph and GraphML, report, status, conflicts of interest,
relations (read, declare, answer).

Everything answers for the caller's scope: public relations and relations inferred from
public behaviour for everybody; managers-only relations too for the members of the
community's residents committee and of the street office.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, json_body
from coord.db import db
from coord.models import Community
from coord.permissions import require
from coord.web import int_arg
from stakeholders import acting
from stakeholders.models import Relation
from stakeholders.network import grants, relations
from stakeholders.network import graph as network_graph
from stakeholders.network import permissions as network_permissions
from stakeholders.network import services as service

bp = api_blueprint("network_api", __name__)


def _user():
    return current_user if current_user.is_authenticated else None


@bp.get("/communities/<int:community_id>/network")
def network(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(_user(), community)
    state = service.report_state(community, scope)
    if request.args.get("format") == "graphml":
        data = network_graph.full_graph(community, scope, state.report, request.args)
    else:
        data = network_graph.build_graph(
            community, scope, state.report, network_graph.parse_filters(request.args)
        )
    data["graph"]["is_current"] = state.is_current
    data["graph"]["progress"] = state.progress
    if request.args.get("format") == "graphml":
        return Response(network_graph.graphml(data), mimetype="application/graphml+xml")
    return jsonify(data)


@bp.get("/communities/<int:community_id>/network/links/<link_id>")
def link(community_id: int, link_id: str):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(_user(), community)
    report = service.report_state(community, scope).report
    rv = network_graph.link_explanation(community, scope, report, link_id[:40])
    if rv is None:
        abort(404)
    return jsonify(rv)


@bp.get("/communities/<int:community_id>/network.graphml")
def network_graphml(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(_user(), community)
    state = service.report_state(community, scope)
    data = network_graph.full_graph(community, scope, state.report, request.args)
    return Response(network_graph.graphml(data), mimetype="application/graphml+xml")


@bp.get("/communities/<int:community_id>/network/report")
def report(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(_user(), community)
    state = service.report_state(community, scope)
    data = {k: v for k, v in (state.report or {}).items() if not k.startswith("_")}
    data.pop("negative_pairs", None)
    return jsonify(
        report=data or None,
        is_current=state.is_current,
        progress=state.progress,
        scope=scope,
    )


@bp.get("/communities/<int:community_id>/network/status")
def status(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(_user(), community)
    status, progress = service.report_status(community, scope)
    return jsonify(status=status, progress=progress)


@bp.get("/communities/<int:community_id>/network/conflicts-of-interest")
def conflicts_of_interest(community_id: int):
    db.get_or_404(Community, community_id)
    a, b = int_arg("a"), int_arg("b")
    if a is None or b is None:
        abort(400, _("Give two stakeholders: ?a=<id>&b=<id>."))
    hops = int_arg("max_hops") or 2
    paths = service.conflict_of_interest(a, b, hops, user=_user())
    return jsonify(
        items=[
            {
                "hops": p.hops,
                "explanation": p.explanation,
                "steps": [
                    {
                        "source": s.source,
                        "target": s.target,
                        "type": s.type,
                        "label": s.label,
                        "inferred": s.inferred,
                    }
                    for s in p.steps
                ],
            }
            for p in paths
        ]
    )


def relation_json(r: Relation, user: Any) -> dict[str, Any]:
    """Serialise a relation (both sides' notes) for a caller who may see it; a resident end
    the caller may not see named is given as its group (``source_group``/``target_group``)."""
    hidden = {
        end.id
        for end in (r.source, r.target)
        if not network_permissions.can_see_person(user, r, end)
    }
    groups = service.resident_groups(hidden)
    return {
        "id": r.id,
        "source": None if r.source_id in hidden else r.source_id,
        "target": None if r.target_id in hidden else r.target_id,
        **{
            f"{side}_group": groups[sid][1]
            for side, sid in (("source", r.source_id), ("target", r.target_id))
            if sid in hidden
        },
        "type": r.type.value,
        "sign": r.sign,
        "strength": r.strength,
        "status": r.status.value,
        "visibility": r.visibility.value,
        "community_id": r.community_id,
        "note": r.note,
        "evidence": r.evidence,
        "response_note": r.response_note,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
        "can_respond": network_permissions.can_respond(user, r),
        "can_retract": network_permissions.can_retract(user, r),
    }


def _visible(relation_id: int) -> Relation:
    rv = db.get_or_404(Relation, relation_id)
    require(network_permissions.can_see(_user(), rv), 404)
    return rv


@bp.get("/relations/<int:relation_id>")
def relation(relation_id: int):
    return jsonify(relation_json(_visible(relation_id), _user()))


@bp.post("/communities/<int:community_id>/relations")
def declare(community_id: int):
    actor = acting.require_actor()
    community = db.get_or_404(Community, community_id)
    rv = relations.declare_relation(actor, community, json_body())
    db.session.commit()
    return jsonify(relation_json(rv, actor.user)), 201


@bp.post("/relations/<int:relation_id>/<any(confirm, dispute, verify, retract):action>")
def answer(relation_id: int, action: str):
    actor = acting.require_actor()
    rel = _visible(relation_id)
    body = request.get_json(silent=True) or {}
    note = body.get("note") if isinstance(body, dict) else None
    note = note if isinstance(note, str) else ""
    if action == "confirm":
        relations.confirm_relation(actor, rel, note)
    elif action == "dispute":
        relations.dispute_relation(actor, rel, note)
    elif action == "verify":
        relations.verify_relation(actor, rel)
    else:
        relations.retract_relation(actor, rel)
    db.session.commit()
    return jsonify(relation_json(rel, actor.user))
