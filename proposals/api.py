"""JSON endpoints for proposals and their deliberation, with the web's services and permissions.

Reads show only what the caller may see (`permissions.visible_filter` / `can_view`;
anything else is a 404). Writes act as the caller's acting stakeholder (the
`X-Acting-As` header chooses it; a stakeholder the caller may not act as is a 403).
Errors are JSON: ``{"error": {"status", "message", "fields"?}}``; a body that is not a
JSON object, a value of the wrong type or out of range is a 400 with a message per field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, community_json, json_body
from coord.db import db
from coord.errors import DomainError
from coord.extensions import limiter
from coord.forms import strip_text
from coord.text import clean_text
from coord.web import MAX_ID
from proposals import lifecycle, queries, services
from proposals import permissions as perm
from proposals.deliberation import amendments, comments, moderation, positions
from proposals.deliberation.comment_views import limits_disabled, user_key
from proposals.deliberation.models import (
    Amendment,
    Comment,
    CommentStance,
    Position,
    PositionStance,
)
from proposals.models import Follow, Proposal, ProposalTransition, Visibility
from proposals.vocabulary import CATEGORIES, INTERESTS
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


@bp.errorhandler(Invalid)
def _invalid(exc: Invalid):
    db.session.rollback()
    error = {"status": 400, "message": _("Some fields are not valid."), "fields": exc.fields}
    return jsonify(error=error), 400


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    db.session.rollback()
    error: dict[str, Any] = {"status": exc.status, "message": exc.message}
    if exc.field:
        error["fields"] = {exc.field: [exc.message]}
    return jsonify(error=error), exc.status


@bp.before_request
def _check_acting_header() -> None:
    """A forged X-Acting-As header is refused on every endpoint, reads included."""
    if request.headers.get(acting.HEADER) is not None:
        acting.current_actor()


# -- Reading request data ---------------------------------------------------------------------


class _Fields:
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


def _arg_choice(name: str, choices: Any) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in choices:
        choices = ", ".join(sorted(choices))
        abort(400, _("Unknown %(name)s: choose one of %(choices)s.", name=name, choices=choices))
    return value


# -- JSON shapes ------------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def stakeholder_json(s: Stakeholder | None) -> dict[str, Any] | None:
    """Serialise a stakeholder's public identity (a deleted user's name is withheld)."""
    if s is None:
        return None
    return {
        "id": s.id,
        "name": None if s.deleted_at is not None else s.name,
        "kind": getattr(s.kind, "value", s.kind),
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
        "deadline_at": _when(p.deadline_at),
        "created_at": _when(p.created_at),
        "published_at": _when(p.published_at),
        "last_activity_at": _when(p.last_activity_at),
        "comment_count": p.comment_count,
        "hidden": p.is_hidden,
        "hidden_reason": moderation.hidden_reason_text(p.hidden_reason) or None,
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


def _comment_json(c: Comment) -> dict[str, Any]:
    state = "deleted" if c.is_deleted else "hidden" if c.is_hidden else "visible"
    if state == "deleted":
        placeholder = _("This comment was deleted. Replies to it stay.")
    elif state == "hidden":
        reason = moderation.hidden_reason_text(c.hidden_reason)
        placeholder = _("Hidden by the moderators: %(reason)s", reason=reason)
    else:
        placeholder = None
    return {
        "id": c.id,
        "parent_id": c.parent_id,
        "depth": c.depth,
        "state": state,
        "placeholder": placeholder,
        "author": None if state == "deleted" else stakeholder_json(c.actor),
        "stance": None if state == "deleted" else getattr(c.stance, "value", c.stance),
        "body_html": c.body_html if state == "visible" else None,
        "created_at": _when(c.created_at),
        "edited_at": _when(c.edited_at) if state == "visible" else None,
        "agree_count": c.agree_count,
        "disagree_count": c.disagree_count,
        "pass_count": c.pass_count,
        "replies": [],
    }


def _position_json(position: Position, stakeholder: Stakeholder) -> dict[str, Any]:
    stance = getattr(position.stance, "value", position.stance)
    return {
        "id": position.id,
        "stakeholder": stakeholder_json(stakeholder),
        "stance": stance,
        "interests": [
            {"key": i, "label": _(INTERESTS[i])} for i in position.interests or [] if i in INTERESTS
        ],
        "tags": list(position.tags or []),
        "statement": position.statement,
        "conditions": position.conditions or None,
        "condition_amendment_id": position.condition_amendment_id,
        "condition_met": position.condition_met_at is not None,
        "updated_at": _when(position.updated_at),
    }


def _amendment_json(a: Amendment, stakeholder: Stakeholder) -> dict[str, Any]:
    return {
        "id": a.id,
        "author": stakeholder_json(stakeholder),
        "base_version": a.base_version,
        "title": a.title,
        "body_html": a.body_html,
        "rationale": a.rationale,
        "status": getattr(a.status, "value", a.status),
        "support_count": a.support_count,
        "decision_reason": a.decision_reason or None,
        "decided_at": _when(a.decided_at),
        "resulting_version": a.resulting_version,
        "created_at": _when(a.created_at),
    }


# -- Loading ----------------------------------------------------------------------------------


def _visible_or_404(proposal_id: int) -> Proposal:
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
        kind=_arg_choice("kind", lifecycle.KINDS),
        status=_arg_choice("status", _STATES),
        category=_arg_choice("category", CATEGORIES),
        author_kind=_arg_choice("author_kind", [k.value for k in Kind]),
        q=clean_text(request.args.get("q") or "")[:MAX_QUERY],  # no NUL: PostgreSQL refuses it
        sort=_arg_choice("sort", queries.SORTS) or "newest",
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
    return jsonify(_detail_json(_visible_or_404(proposal_id)))


@bp.get("/proposals/<int:proposal_id>/comments")
def comment_tree(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    sort = _arg_choice("sort", ("oldest", "newest", "agreed")) or "oldest"
    thread = comments.sort_threads(comments.load_thread(proposal), sort)
    roots: list[dict[str, Any]] = []
    nodes: dict[int, dict[str, Any]] = {}
    for c in thread:
        node = nodes[c.id] = _comment_json(c)
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent["replies"] if parent is not None else roots).append(node)
    return jsonify(items=roots, total=len(thread))


@bp.get("/proposals/<int:proposal_id>/positions")
def position_list(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    rows = positions.rows_for(proposal)
    return jsonify(items=[_position_json(r.position, r.stakeholder) for r in rows])


@bp.get("/proposals/<int:proposal_id>/amendments")
def amendment_list(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    rows = amendments.rows_for(proposal)
    return jsonify(items=[_amendment_json(r.amendment, r.stakeholder) for r in rows])


@bp.get("/proposals/<int:proposal_id>/timeline")
def timeline(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
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
                "created_at": _when(t.created_at),
            }
            for t in rows
        ]
    )


# -- Writes -----------------------------------------------------------------------------------


@bp.post("/proposals")
def create():
    actor = acting.require_actor()
    fields = _Fields(json_body())
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
    rv = jsonify(_detail_json(_visible_or_404(proposal.id)))
    rv.headers["Location"] = url_for(".detail", proposal_id=proposal.id)
    return rv, 201


@bp.post("/proposals/<int:proposal_id>/transitions")
def transition(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = _Fields(json_body())
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
    proposal = _visible_or_404(proposal_id)
    services.follow(acting.require_actor(), proposal)
    db.session.commit()
    return jsonify(following=True)


@bp.delete("/proposals/<int:proposal_id>/follow")
def unfollow(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    services.unfollow(acting.require_actor(), proposal)
    db.session.commit()
    return jsonify(following=False)


def _comment_limit() -> str:
    """The web's limit on posting comments applies here too."""
    return current_app.config.get("RATELIMIT_COMMENT_POSTS", "10 per minute")


def _position_limit() -> str:
    """The web's limit on declaring positions (and other deliberation posts) applies too."""
    return current_app.config.get("RATELIMIT_DELIBERATION_POSTS", "20 per minute")


@bp.post("/proposals/<int:proposal_id>/comments")
@limiter.limit(_comment_limit, key_func=user_key, exempt_when=limits_disabled)
def post_comment(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = _Fields(json_body())
    data = {
        "body": fields.text("body", max_length=comments.MAX_LENGTH, required=True),
        "stance": fields.choice("stance", [s.value for s in CommentStance]),
        "parent_id": fields.ident("parent_id"),
    }
    fields.check()
    comment = comments.post_comment(actor, proposal, data)
    db.session.commit()
    return jsonify(_comment_json(comment)), 201


@bp.put("/proposals/<int:proposal_id>/position")
@limiter.limit(_position_limit, key_func=user_key, exempt_when=limits_disabled)
def declare_position(proposal_id: int):
    proposal = _visible_or_404(proposal_id)
    actor = acting.require_actor()
    fields = _Fields(json_body())
    data = {
        "stance": fields.choice("stance", [s.value for s in PositionStance], required=True),
        "interests": fields.words("interests", max_items=len(INTERESTS), max_length=40),
        "tags": fields.words(
            "tags", max_items=positions.MAX_TAGS, max_length=positions.MAX_TAG_LENGTH
        ),
        "statement": fields.text("statement", max_length=positions.MAX_STATEMENT) or "",
        "conditions": fields.text("conditions", max_length=positions.MAX_CONDITIONS) or "",
        "condition_amendment_id": fields.ident("condition_amendment_id"),
    }
    fields.check()
    position = positions.declare_position(actor, proposal, data)
    db.session.commit()
    return jsonify(_position_json(position, actor.stakeholder))
