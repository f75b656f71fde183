"""JSON endpoints of the deliberation: a proposal's comments, positions and amendments.

They are endpoints of the proposals API (`proposals_api.*`, added by `add_endpoints` through
`proposals.api.add_endpoint`), so they share its prefix, header checks and JSON errors.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask_babel import gettext as _

from coord.api import json_body
from coord.db import db
from coord.extensions import limiter
from proposals.api import Fields, add_endpoint, arg_choice, iso, stakeholder_json, visible_or_404
from proposals.deliberation import amendments, attribution, comments, limits, positions, signatures
from proposals.deliberation.models import (
    Amendment,
    Comment,
    CommentStance,
    Position,
    PositionStance,
)
from proposals.hiding import hidden_reason_text
from proposals.vocabulary import INTERESTS
from stakeholders import acting
from stakeholders.models import Stakeholder


def add_endpoints(app: Flask) -> None:
    """Add these endpoints to the proposals API of `app`."""
    add_endpoint(app, "/proposals/<int:proposal_id>/comments", comment_tree, ["GET"])
    add_endpoint(app, "/proposals/<int:proposal_id>/comments", post_comment, ["POST"])
    add_endpoint(app, "/proposals/<int:proposal_id>/positions", position_list, ["GET"])
    add_endpoint(app, "/proposals/<int:proposal_id>/position", declare_position, ["PUT"])
    add_endpoint(app, "/proposals/<int:proposal_id>/amendments", amendment_list, ["GET"])


# -- JSON shapes ------------------------------------------------------------------------------


def _author_json(
    stakeholder: Stakeholder, signed: dict[int, signatures.SignedAs]
) -> dict[str, Any] | None:
    """Serialise an author as readers see them: a building-signed resident by label only."""
    label = signed.get(stakeholder.id)
    return label.json() if label is not None else stakeholder_json(stakeholder)


def _comment_json(c: Comment, signed: dict[int, signatures.SignedAs]) -> dict[str, Any]:
    state = "deleted" if c.is_deleted else "hidden" if c.is_hidden else "visible"
    if state == "deleted":
        placeholder = _("This comment was deleted. Replies to it stay.")
    elif state == "hidden":
        reason = hidden_reason_text(c.hidden_reason)
        placeholder = _("Hidden by the moderators: %(reason)s", reason=reason)
    else:
        placeholder = None
    return {
        "id": c.id,
        "parent_id": c.parent_id,
        "depth": c.depth,
        "state": state,
        "placeholder": placeholder,
        "author": None if state == "deleted" else _author_json(c.actor, signed),
        "stance": None if state == "deleted" else getattr(c.stance, "value", c.stance),
        "body_html": c.body_html if state == "visible" else None,
        "created_at": iso(c.created_at),
        "edited_at": iso(c.edited_at) if state == "visible" else None,
        "agree_count": c.agree_count,
        "disagree_count": c.disagree_count,
        "pass_count": c.pass_count,
        "replies": [],
    }


def _position_json(
    position: Position, stakeholder: Stakeholder, signed: dict[int, signatures.SignedAs]
) -> dict[str, Any]:
    stance = getattr(position.stance, "value", position.stance)
    return {
        "id": position.id,
        "stakeholder": _author_json(stakeholder, signed),
        "stance": stance,
        "interests": [
            {"key": i, "label": _(INTERESTS[i])} for i in position.interests or [] if i in INTERESTS
        ],
        "tags": list(position.tags or []),
        "statement": position.statement,
        "conditions": position.conditions or None,
        "condition_amendment_id": position.condition_amendment_id,
        "condition_met": position.condition_met_at is not None,
        "updated_at": iso(position.updated_at),
    }


def _amendment_json(
    a: Amendment, stakeholder: Stakeholder, signed: dict[int, signatures.SignedAs]
) -> dict[str, Any]:
    return {
        "id": a.id,
        "author": _author_json(stakeholder, signed),
        "base_version": a.base_version,
        "title": a.title,
        "body_html": a.body_html,
        "rationale": a.rationale,
        "status": getattr(a.status, "value", a.status),
        "support_count": a.support_count,
        "decision_reason": a.decision_reason or None,
        "decided_at": iso(a.decided_at),
        "resulting_version": a.resulting_version,
        "created_at": iso(a.created_at),
    }


# -- Endpoints -------------------------------------------------------------------------------


def comment_tree(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    sort = arg_choice("sort", ("oldest", "newest", "agreed")) or "oldest"
    thread = comments.sort_threads(comments.load_thread(proposal), sort)
    signed = signatures.labels_for(proposal.id).labels
    roots: list[dict[str, Any]] = []
    nodes: dict[int, dict[str, Any]] = {}
    for c in thread:
        node = nodes[c.id] = _comment_json(c, signed)
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent["replies"] if parent is not None else roots).append(node)
    return jsonify(items=roots, total=len(thread))


def position_list(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    rows = positions.rows_for(proposal)
    signed = signatures.labels_for(proposal.id).labels
    return jsonify(items=[_position_json(r.position, r.stakeholder, signed) for r in rows])


def amendment_list(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    rows = amendments.rows_for(proposal)
    signed = signatures.labels_for(proposal.id).labels
    return jsonify(items=[_amendment_json(r.amendment, r.stakeholder, signed) for r in rows])


@limiter.limit(limits.comment_posts, key_func=limits.user_key, exempt_when=limits.limits_disabled)
def post_comment(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = Fields(json_body())
    data = {
        "body": fields.text("body", max_length=comments.MAX_LENGTH, required=True),
        "stance": fields.choice("stance", [s.value for s in CommentStance]),
        "parent_id": fields.ident("parent_id"),
        "signature": fields.choice("signature", attribution.MODES),
    }
    fields.check()
    comment = comments.post_comment(actor, proposal, data)
    db.session.commit()
    return jsonify(_comment_json(comment, signatures.labels_for(proposal.id).labels)), 201


@limiter.limit(
    limits.deliberation_posts, key_func=limits.user_key, exempt_when=limits.limits_disabled
)
def declare_position(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = Fields(json_body())
    data = {
        "stance": fields.choice("stance", [s.value for s in PositionStance], required=True),
        "interests": fields.words("interests", max_items=len(INTERESTS), max_length=40),
        "tags": fields.words(
            "tags", max_items=positions.MAX_TAGS, max_length=positions.MAX_TAG_LENGTH
        ),
        "statement": fields.text("statement", max_length=positions.MAX_STATEMENT) or "",
        "conditions": fields.text("conditions", max_length=positions.MAX_CONDITIONS) or "",
        "condition_amendment_id": fields.ident("condition_amendment_id"),
        "signature": fields.choice("signature", attribution.MODES),
    }
    fields.check()
    position = positions.declare_position(actor, proposal, data)
    db.session.commit()
    signed = signatures.labels_for(proposal.id).labels
    return jsonify(_position_json(position, actor.stakeholder, signed))
