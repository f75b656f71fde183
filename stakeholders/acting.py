"""Acting as: the stakeholder a user speaks for in this request."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, abort, g, request, session
from flask_login import current_user

from coord.db import db
from coord.models import User
from stakeholders.models import Membership, MembershipStatus, Stakeholder

SESSION_KEY = "acting_as"
HEADER = "X-Acting-As"


@dataclass(frozen=True)
class Actor:
    """Who acts: the signed-in user and the stakeholder they speak for."""

    user: User
    stakeholder: Stakeholder

    @property
    def audit_ids(self) -> dict[str, int]:
        """Return the ids every audit event records."""
        return {"user_id": self.user.id, "actor_id": self.stakeholder.id}


def own_identity(user: User) -> Stakeholder | None:
    """Return the user's own resident stakeholder."""
    return db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))


def identities(user: User) -> list[Stakeholder]:
    """Return every stakeholder the user may act as: themself first, then organisations."""
    orgs = sa.select(Membership.organisation_id).where(
        Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE
    )
    rows = db.session.scalars(
        sa.select(Stakeholder)
        .where(
            sa.or_(
                Stakeholder.user_id == user.id,
                sa.and_(Stakeholder.id.in_(orgs), Stakeholder.deleted_at.is_(None)),
            )
        )
        .order_by(Stakeholder.kind, Stakeholder.name)
    ).all()
    return sorted(rows, key=lambda s: s.user_id != user.id)  # themself first


def _resolve(user: User, available: list[Stakeholder]) -> Actor | None:
    choices = {s.id: s for s in available}
    if not choices:
        return None
    wanted = request.headers.get(HEADER) if request.path.startswith("/api/") else None
    if wanted is not None:
        if not wanted.isdigit() or int(wanted) not in choices:
            abort(403)
        return Actor(user, choices[int(wanted)])
    chosen = session.get(SESSION_KEY)
    if chosen not in choices:
        chosen = next(iter(choices))
        session.pop(SESSION_KEY, None)
    return Actor(user, choices[chosen])


def current_actor() -> Actor | None:
    """Return the current request's actor (None when signed out)."""
    if "actor" not in g:
        user = current_user._get_current_object() if current_user.is_authenticated else None
        g.identities = identities(user) if user is not None else []
        g.actor = _resolve(user, g.identities) if user is not None else None
    return g.actor


def require_actor() -> Actor:
    """Return the current actor or answer 401 for anonymous users."""
    rv = current_actor()
    if rv is None:
        abort(401)
    return rv


def switch(user: User, stakeholder_id: int) -> Stakeholder:
    """Remember that `user` now acts as `stakeholder_id`; 403 if they may not."""
    choice = next((s for s in identities(user) if s.id == stakeholder_id), None)
    if choice is None:
        abort(403)
    session[SESSION_KEY] = choice.id
    g.pop("actor", None)
    return choice


def init_app(app: Flask) -> None:
    """Expose the actor and the user's identities to every template."""

    @app.context_processor
    def _inject() -> dict:
        actor = current_actor()
        return {"actor": actor, "identities": g.get("identities", [])}
