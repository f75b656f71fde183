"""JSON API plumbing under /api/v1 and the core endpoints (current user, communities)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from coord.db import SAFE_METHODS, db
from coord.extensions import csrf
from coord.models import Community

PREFIX = "/api/v1"


def _csrf_for_session_writes() -> None:
    """Require the CSRF header on writes authenticated by the session cookie (not by a token)."""
    if request.method in SAFE_METHODS:
        return
    _ = current_user.is_authenticated  # load the user first: a token sets g.auth_via_token
    if g.get("auth_via_token"):
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError as exc:
        raise CSRFError(str(exc)) from exc


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """Create a blueprint for JSON endpoints: CSRF by header unless a token is used."""
    rv = Blueprint(name, import_name, url_prefix=PREFIX)
    csrf.exempt(rv)
    rv.before_request(_csrf_for_session_writes)
    return rv


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or answer 400 with a message."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, _("Send a JSON object."))
    return data


def community_json(community: Community) -> dict[str, Any]:
    """Serialise a community for the API."""
    return {
        "id": community.id,
        "name": community.name,
        "name_en": community.name_en,
        "street": {"id": community.street.id, "name": community.street.name},
    }


bp = api_blueprint("api", __name__)


@bp.get("/communities")
def communities():
    rows = db.session.scalars(
        sa.select(Community).options(sa.orm.joinedload(Community.street)).order_by(Community.id)
    ).all()
    return jsonify(items=[community_json(c) for c in rows])


@bp.get("/communities/<int:community_id>")
def community(community_id: int):
    return jsonify(community_json(db.get_or_404(Community, community_id)))
