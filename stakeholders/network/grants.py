"""Which report scope a viewer sees, including a manager's short-lived individual view.

A network manager who stated a purpose (a POST, recorded in the audit trail by
`services.record_individual_view`) gets a grant in the signed session for that community
and user, valid for ``services.INDIVIDUAL_MINUTES``: for that long the network pages, their
exports and the network API show the ``individual`` report. Reading a grant writes nothing;
when it expires, or the user no longer manages the community, the pages show groups again.
"""

from __future__ import annotations

from datetime import datetime

from flask import session

from coord.db import utcnow
from coord.models import Community, User
from stakeholders.network import services as service

SESSION_KEY = "coord_network_individual"


def grant_individual_view(user: User, community: Community, until: datetime) -> None:
    """Remember in the session that `user` may see `community` one by one until `until`."""
    grants = {
        k: v
        for k, v in (session.get(SESSION_KEY) or {}).items()
        if v.get("until", 0) > utcnow().timestamp()
    }
    grants[str(community.id)] = {"user": user.id, "until": until.timestamp()}
    session[SESSION_KEY] = grants


def end_individual_view(community: Community) -> None:
    """Forget the session's grant for a community."""
    grants = dict(session.get(SESSION_KEY) or {})
    grants.pop(str(community.id), None)
    session[SESSION_KEY] = grants


def individual_until(user: User | None, community: Community) -> datetime | None:
    """Return until when the user's individual view of the community lasts (None: none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    grant = (session.get(SESSION_KEY) or {}).get(str(community.id))
    if not isinstance(grant, dict) or grant.get("user") != user.id:
        return None
    until = grant.get("until")
    if not isinstance(until, int | float) or until <= utcnow().timestamp():
        return None
    return datetime.fromtimestamp(until, tz=utcnow().tzinfo)


def viewer_scope(user: User | None, community: Community) -> str:
    """Return the report scope the viewer sees: public, managers or (granted) individual."""
    scope = service.scope_for(user, community)
    if scope == service.MANAGERS and individual_until(user, community) is not None:
        return service.INDIVIDUAL
    return scope
