"""JSON endpoints of polls: read a poll, cast or change a ballot, results, bulletin board."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, json_body
from coord.db import db
from coord.errors import DomainError
from stakeholders import acting
from voting import permissions as perm
from voting import receipt_code, services
from voting import results as poll_results
from voting.models import Poll, PollStatus

bp = api_blueprint("voting_api", __name__)


def _authenticate_first() -> None:
    """Load the user before the CSRF check, so that token-authenticated writes are exempt.

    `coord.api`'s check reads `g.auth_via_token`, which the token loader sets only once
    `current_user` is first touched; without this a ballot sent with a token gets a 400.
    """
    current_user._get_current_object()


bp.before_request_funcs.setdefault(None, []).insert(0, _authenticate_first)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def poll_json(poll: Poll) -> dict[str, Any]:
    """Serialise a poll and its rules (never who voted); the status is the effective one."""
    s = poll.settings or {}
    return {
        "id": poll.id,
        "title": poll.title,
        "description": poll.description,
        "community_id": poll.community_id,
        "proposal_id": poll.proposal_id,
        "method": poll.method,
        "options": poll.options,
        "params": s.get("params") or {},
        "unit": s.get("unit"),
        "eligibility": s.get("eligibility"),
        "rule": s.get("rule"),
        "shares": s.get("shares") or {},
        "min_groups": s.get("min_groups"),
        "quorum": s.get("quorum") or 0,
        "kind_quorum": s.get("kind_quorum") or {},
        "secret": poll.is_secret,
        "live_results": poll.live_results,
        "status": poll.state.value,
        "opens_at": _iso(poll.opens_at),
        "closes_at": _iso(poll.closes_at),
        "frozen": poll.frozen_at is not None,
        "closed_at": _iso(poll.closed_at),
        "electorate_size": poll.electorate_size,
        "ballots_digest": poll.ballots_digest,
    }


def _load(poll_id: int) -> Poll:
    """Load a visible poll (404 otherwise) as stored; the tick settles due polls."""
    poll = db.get_or_404(Poll, poll_id)
    if not perm.can_view(current_user, poll):
        abort(404)
    return poll


@bp.get("/polls/<int:poll_id>")
def poll(poll_id: int):
    p = _load(poll_id)
    rv = poll_json(p)
    actor = acting.current_actor() if current_user.is_authenticated else None
    voter_id = services.voter_id_for(actor, p)
    rv["voted"] = voter_id is not None and services.has_voted(p, voter_id)
    return jsonify(rv)


def _choice(body: dict[str, Any]) -> Any:
    if "choice" not in body:
        abort(400, _('Send the ballot as {"choice": …}.'))
    return body["choice"]


def _committed(action: Callable[[], services.Receipt]) -> services.Receipt:
    """Run one ballot use case and commit; on a refusal roll back (the error handler answers)."""
    try:
        rv = action()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return rv


def _receipt_json(receipt: services.Receipt) -> Response:
    """Answer a ballot with its receipt and short code; never the nonce (see docs/voting.md)."""
    code = receipt_code.grouped(receipt_code.short_code(receipt.receipt))
    return jsonify(receipt=receipt.receipt, code=code, content=receipt.content)


@bp.post("/polls/<int:poll_id>/ballots")
def cast(poll_id: int):
    p = _load(poll_id)
    actor = acting.require_actor()
    body = json_body()
    receipt = _committed(lambda: services.cast_ballot(actor, p, _choice(body)))
    return _receipt_json(receipt), 201


@bp.put("/polls/<int:poll_id>/ballots/mine")
def change(poll_id: int):
    p = _load(poll_id)
    actor = acting.require_actor()
    body = json_body()
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        abort(400, _("The reason must be text."))
    receipt = _committed(lambda: services.change_ballot(actor, p, _choice(body), reason))
    return _receipt_json(receipt)


@bp.get("/polls/<int:poll_id>/results")
def results(poll_id: int):
    p = _load(poll_id)
    shown = poll_results.shown_result(p)
    if shown is None:
        abort(403, poll_results.hidden_reason(p))
    return jsonify(poll_results.export_json(p, shown))


@bp.get("/polls/<int:poll_id>/bulletin")
def bulletin(poll_id: int):
    p = _load(poll_id)
    if p.status != PollStatus.CLOSED or p.result is None:
        abort(403, _("The bulletin board is published when the poll closes."))
    return jsonify(
        poll=poll_json(p), ballots_digest=p.ballots_digest, ballots=poll_results.bulletin_lines(p)
    )
