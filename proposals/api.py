"""JSON endpoints for proposals, with the web's services and permissions; families add theirs.

Reads show only what the caller may see (`permissions.visible_filter` / `can_view`;
anything else is a 404). Writes act as the caller's acting stakeholder (the
`X-Acting-As` header chooses it; a stakeholder the caller may not act as is a 403).
Errors are JSON: ``{"error": {"status", "message", "fields"?}}``; a body that is not a
JSON object, a value of the wrong type or out of range is a 400 with a message per field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, community_json, json_body
from coord.db import db
from coord.forms import strip_text
from coord.text import clean_text
from coord.web import MAX_ID
from proposals import hiding, lifecycle, queries, services
from proposals import permissions as perm
from proposals.models import Follow, Proposal, ProposalTransition, Visibility
from proposals.vocabulary import CATEGORIES
from stakeholders import acting
from stakeholders.models import Kind, Stakeholder

bp = api_blueprint("proposals_api", __name__)

#: Kinds that can be created here (as on the web: plans and tenders get their own workflows).
CREATABLE_KINDS = ("consultation", "request")
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_QUERY = 100
TITLE_MAX, SUMMARY_MAX, BODY_MAX, REASON_MAX = 120, 500, 50_000, 500
MAX_INVITES = 200

_STATES = frozenset(s for states in lifecycle.STATES.values() for s in states)


class Invalid(Exception):
    """Some request fields are invalid: {field: [messages]}."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(fields)
        self.fields = fields


def add_endpoint(app: Flask, rule: str, view: Callable[..., Any], methods: list[str]) -> None:
    """Serve a family's JSON `view` at `rule` as the endpoint `proposals_api.<view name>`.

    It shares this blueprint's URL prefix, header checks and JSON errors (Flask applies a
    blueprint's hooks by the endpoint's prefix). Families call it from their `init_app`, as
    routes cannot join a blueprint once it is registered.
    """
    app.add_url_rule(f"{bp.url_prefix}{rule}", f"{bp.name}.{view.__name__}", view, methods=methods)


@bp.errorhandler(Invalid)
def _invalid(exc: Invalid):
    db.session.rollback()
    error = {"status": 400, "message": _("Some fields are not valid."), "fields": exc.fields}
    return jsonify(error=error), 400


@bp.before_request
def _check_acting_header() -> None:
    """A forged X-Acting-As header is refused on every endpoint, reads included."""
    if request.headers.get(acting.HEADER) is not None:
        acting.current_actor()


# -- Reading request data ---------------------------------------------------------------------


class Fields:
    """Read typed values from a JSON object, collecting a message per bad field."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            self.fail(key, _("This field is required."))
        return value

    def text(
        self, key: str, *, max_length: int, required: bool = False, one_line: bool = False
    ) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, _("Send text."))
            return None
        value = strip_text(value) or ""
        if one_line:
            value = " ".join(value.split())
        if required and not value:
            self.fail(key, _("This field is required."))
        elif len(value) > max_length:
            self.fail(key, _("At most %(n)d characters.", n=max_length))
        return value

    def ident(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, _("Send a whole number."))
            return None
        if not 0 < value <= MAX_ID:
            self.fail(key, _("No such id."))
            return None
        return value

    def choice(self, key: str, choices: Any, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            self.fail(key, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
            return None
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, _("Send true or false."))
            return False
        return value

    def idents(self, key: str, *, max_items: int = MAX_INVITES) -> list[int]:
        value = self.data.get(key)
        if value is None:
            return []
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or any(isinstance(i, bool) or not isinstance(i, int) for i in value)
        ):
            self.fail(key, _("Send a list of at most %(n)d ids.", n=max_items))
            return []
        if any(not 0 < i <= MAX_ID for i in value):
            self.fail(key, _("No such id."))
            return []
        return list(dict.fromkeys(value))

    def words(self, key: str, *, max_items: int, max_length: int) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or any(not isinstance(i, str) or len(i) > max_length for i in value)
        ):
            self.fail(key, _("Send a list of at most %(n)d short texts.", n=max_items))
            return []
        return value

    def moment(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            rv = datetime.fromisoformat(value)
        except ValueError:
            self.fail(key, _("Send a date and time like 2026-05-01T18:00+08:00."))
            return None
        if rv.tzinfo is None:  # a wall-clock time in the site's time zone
            rv = rv.replace(tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
        return rv.astimezone(UTC)


def _arg_int(name: str, default: int | None, maximum: int) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= maximum:
        abort(400, _("%(name)s must be a whole number from 1 to %(max)d.", name=name, max=maximum))
    return int(value)


def arg_choice(name: str, choices: Any) -> str | None:
    """Read an optional query argument that must be one of `choices` (else 400)."""
    value = request.args.get(name) or None
    if value is not None and value not in choices:
        choices = ", ".join(sorted(choices))
        abort(400, _("Unknown %(name)s: choose one of %(choices)s.", name=name, choices=choices))
    return value


# -- JSON shapes ------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """Format a moment for JSON (None stays None)."""
    return value.isoformat() if value is not None else None


def stakeholder_json(s: Stakeholder | None) -> dict[str, Any] | None:
    """Serialise a stakeholder's public identity (a deleted user's name is withheld)."""
    if s is None:
        return None
    return {
        "id": s.id,
        "name": None if s.deleted_at is not None else s.name,
        "kind": getattr(s.kind, "value", s.kind),
        "is_confirmed": None if s.kind == Kind.RESIDENT else s.is_confirmed,
    }


def proposal_json(p: Proposal) -> dict[str, Any]:
    """Serialise a proposal for lists (a hidden one shows its public reason, not its text)."""
    return {
        "id": p.id,
        "kind": p.kind,
        "kind_label": _(lifecycle.KIND_LABELS.get(p.kind, p.kind)),
        "status": p.status,
        "status_label": _(lifecycle.STATE_LABELS.get(p.status, p.status)),
        "title": p.title,
        "summary": None if p.is_hidden else p.summary,
        "community": {"id": p.community.id, "name": p.community.name},
        "author": stakeholder_json(p.author),
        "category": p.category or None,
        "category_label": _(CATEGORIES[p.category]) if p.category in CATEGORIES else None,
        "visibility": getattr(p.visibility, "value", p.visibility),
        "version": p.version,
        "deadline_at": iso(p.deadline_at),
        "created_at": iso(p.created_at),
        "published_at": iso(p.published_at),
        "last_activity_at": iso(p.last_activity_at),
        "comment_count": p.comment_count,
        "hidden": p.is_hidden,
        "hidden_reason": hiding.hidden_reason_text(p.hidden_reason) or None,
        "url": url_for("proposals.detail", proposal_id=p.id),
    }


def _detail_json(p: Proposal) -> dict[str, Any]:
    actor = acting.current_actor()
    roles = perm.roles_for(current_user, actor.stakeholder.id if actor else None, p)
    following = (
        current_user.is_authenticated
        and db.session.scalar(
            sa.select(Follow.id).where(
                Follow.proposal_id == p.id, Follow.user_id == current_user.id
            )
        )
        is not None
    )
    return {
        **proposal_json(p),
        "community": community_json(p.community),
        "body_source": None if p.is_hidden else p.body_source,
        "body_html": None if p.is_hidden else p.body_html,
        "following": following,
        "can_participate": perm.can_participate(current_user, p),
        "actions": [
            {
                "action": t.action,
                "label": _(lifecycle.ACTION_LABELS.get(t.action, t.action)),
                "to": t.to_state,
                "reason_required": t.reason_required,
            }
            for t in lifecycle.allowed_actions(p.kind, p.status, roles)
        ],
    }


# -- Loading ----------------------------------------------------------------------------------


def visible_or_404(proposal_id: int) -> Proposal:
    """Load a proposal the caller may see, with its author and community; else 404."""
    proposal = db.session.scalar(
        sa.select(Proposal)
        .options(sa.orm.joinedload(Proposal.author), sa.orm.joinedload(Proposal.community))
        .where(Proposal.id == proposal_id)
    )
    if proposal is None or not perm.can_view(current_user, proposal):
        abort(404)
    return proposal


# -- Reads ------------------------------------------------------------------------------------


@bp.get("/proposals")
def index():
    filters = queries.Filters(
        community_id=_arg_int("community", None, MAX_ID),
        kind=arg_choice("kind", lifecycle.KINDS),
        status=arg_choice("status", _STATES),
        category=arg_choice("category", CATEGORIES),
        author_kind=arg_choice("author_kind", [k.value for k in Kind]),
        q=clean_text(request.args.get("q") or "")[:MAX_QUERY],  # no NUL: PostgreSQL refuses it
        sort=arg_choice("sort", queries.SORTS) or "newest",
    )
    per_page = _arg_int("per_page", current_app.config["PAGE_SIZE"], MAX_PER_PAGE)
    page = db.paginate(
        queries.proposal_list(current_user, filters),
        page=_arg_int("page", 1, MAX_PAGE),
        per_page=per_page,
        max_per_page=MAX_PER_PAGE,
        error_out=False,
    )
    return jsonify(
        items=[proposal_json(p) for p in page.items],
        page=page.page,
        per_page=page.per_page,
        pages=page.pages,
        total=page.total,
    )


@bp.get("/proposals/<int:proposal_id>")
def detail(proposal_id: int):
    return jsonify(_detail_json(visible_or_404(proposal_id)))


@bp.get("/proposals/<int:proposal_id>/timeline")
def timeline(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    rows = db.session.scalars(
        sa.select(ProposalTransition)
        .options(sa.orm.joinedload(ProposalTransition.actor))
        .where(ProposalTransition.proposal_id == proposal.id)
        .order_by(ProposalTransition.id)
    ).all()
    return jsonify(
        items=[
            {
                "action": t.action,
                "action_label": _(lifecycle.ACTION_LABELS.get(t.action, t.action))
                if t.action in lifecycle.ACTION_LABELS
                else t.action,
                "from_state": t.from_state,
                "to_state": t.to_state,
                "to_state_label": _(lifecycle.STATE_LABELS.get(t.to_state, t.to_state)),
                "reason": t.reason or None,
                "actor": stakeholder_json(t.actor),
                "created_at": iso(t.created_at),
            }
            for t in rows
        ]
    )


# -- Writes -----------------------------------------------------------------------------------


@bp.post("/proposals")
def create():
    actor = acting.require_actor()
    fields = Fields(json_body())
    data = {
        "kind": fields.choice("kind", CREATABLE_KINDS, required=True),
        "community_id": fields.ident("community_id", required=True),
        "title": fields.text("title", max_length=TITLE_MAX, required=True, one_line=True),
        "summary": fields.text("summary", max_length=SUMMARY_MAX, required=True),
        "body": fields.text("body", max_length=BODY_MAX) or "",
        "category": fields.choice("category", CATEGORIES) or "",
        "deadline": fields.moment("deadline"),
        "visibility": fields.choice("visibility", [v.value for v in Visibility]) or "public",
        "invited": fields.idents("invited"),
        "publish": fields.flag("publish"),
    }
    fields.check()
    proposal = services.create_proposal(actor, data)
    db.session.commit()
    rv = jsonify(_detail_json(visible_or_404(proposal.id)))
    rv.headers["Location"] = url_for(".detail", proposal_id=proposal.id)
    return rv, 201


@bp.post("/proposals/<int:proposal_id>/transitions")
def transition(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = Fields(json_body())
    action = fields.text("action", max_length=30, required=True, one_line=True)
    reason = fields.text("reason", max_length=REASON_MAX) or ""
    target = fields.ident("target")
    fields.check()
    services.transition_proposal(
        actor, proposal, action, reason, target=str(target) if target else None
    )
    db.session.commit()
    return jsonify(_detail_json(proposal))


@bp.post("/proposals/<int:proposal_id>/follow")
def follow(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    services.follow(acting.require_actor(), proposal)
    db.session.commit()
    return jsonify(following=True)


@bp.delete("/proposals/<int:proposal_id>/follow")
def unfollow(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    services.unfollow(acting.require_actor(), proposal)
    db.session.commit()
    return jsonify(following=False)
