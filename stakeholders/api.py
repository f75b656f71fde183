"""JSON endpoints: the current user and their identities, stakeholders."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, json_body
from coord.db import db
from coord.errors import DomainError
from coord.models import Community
from coord.web import int_arg
from stakeholders import acting, queries, services
from stakeholders.models import Kind, Stakeholder

bp = api_blueprint("stakeholders_api", __name__)


@bp.get("/me")
def me():
    actor = acting.require_actor()
    return jsonify(
        id=current_user.id,
        username=current_user.username,
        display_name=current_user.display_name,
        is_admin=current_user.is_admin,
        acting_as=actor.stakeholder.id,
        identities=[
            {"id": s.id, "name": s.name, "kind": s.kind.value, "is_confirmed": s.is_confirmed}
            for s in acting.identities(current_user)
        ],
    )


@bp.get("/stakeholders")
def stakeholders():
    community_id = int_arg("community")
    if community_id is None:
        abort(400, _("Give the community: ?community=<id>."))
    community = db.get_or_404(Community, community_id)
    kind_arg = request.args.get("kind")
    if kind_arg is not None and kind_arg not in {k.value for k in Kind}:
        abort(400, _("Unknown kind: use government, business, social_organization or resident."))
    page = db.paginate(
        queries.community_stakeholders(community, Kind(kind_arg) if kind_arg else None),
        per_page=100,
        max_per_page=500,
        error_out=False,
    )
    verified = queries.verified_user_ids([s.user_id for s in page.items if s.user_id])
    return jsonify(
        items=[queries.public_profile(s, s.user_id in verified) for s in page.items],
        page=page.page,
        pages=page.pages,
        total=page.total,
    )


@bp.get("/stakeholders/<int:stakeholder_id>")
def stakeholder(stakeholder_id: int):
    s = db.get_or_404(Stakeholder, stakeholder_id)
    verified = bool(s.user_id) and s.user_id in queries.verified_user_ids([s.user_id])
    return jsonify(queries.public_profile(s, verified))


def _organisation_data(body: dict[str, Any]) -> dict[str, Any]:
    """Read a new organisation's fields from JSON; a field of the wrong type is refused."""
    rv: dict[str, Any] = {}
    for key in ("kind", "function", "name", "credit_code", "description"):
        rv[key] = body.get(key) or ""
        if not isinstance(rv[key], str):
            raise DomainError(_("Send text."), field=key)
    community_id = body.get("community_id")
    if community_id is not None and (type(community_id) is not int or community_id < 1):
        raise DomainError(
            _("Send the id of a community, or null for the whole street."), field="community_id"
        )
    rv["community_id"] = community_id
    return rv


@bp.post("/organisations")
def create_organisation():
    actor = acting.require_actor()
    org = services.create_organisation(actor, _organisation_data(json_body()))
    db.session.commit()
    rv = jsonify(queries.public_profile(org, False))
    rv.headers["Location"] = url_for(".stakeholder", stakeholder_id=org.id)
    return rv, 201


@bp.post("/stakeholders/<int:stakeholder_id>/join")
def join(stakeholder_id: int):
    actor = acting.require_actor()
    org = db.get_or_404(Stakeholder, stakeholder_id)
    membership = services.request_membership(actor, org)
    db.session.commit()
    return jsonify(id=membership.id, status=membership.status.value), 201
