"""JSON endpoints for tenders: the public state, the OCDS package and one's own sealed bids.

Reads show what the tender page shows (a tender one may not see is a 404); before the
opening nothing about a bid but the count is returned, and a bid is readable only by its
bidder (its receipt and status) or, after opening, by the buyer and the panel. Writes act as
the caller's acting stakeholder (`X-Acting-As`). Errors: ``{"error": {"status", "message"}}``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from coord.api import api_blueprint, json_body
from coord.db import db
from coord.errors import DomainError
from coord.permissions import require
from proposals import permissions as perm
from proposals.tenders import bids, deadlines, ocds, permissions, scoring, services
from proposals.tenders.models import Bid, Tender
from stakeholders import acting

bp = api_blueprint("tenders_api", __name__)


def _load(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None or not perm.can_view(current_user, tender.proposal):
        abort(404)
    return tender


def _bid_json(tender: Tender, bid: Bid, *, contents: bool) -> dict[str, Any]:
    rv: dict[str, Any] = {
        "id": bid.id,
        "version": bid.version,
        "status": str(bid.status),
        "receipt": bid.receipt,
        "submitted_at": bid.submitted_at.isoformat(),
    }
    if contents and bid.price is not None:
        rv.update(
            price=str(bid.price),
            proposal=bid.proposal_source,
            flag=bid.opening_error,
            disqualified=bid.disqualified_reason,
        )
    return rv


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _can_see_contents(tender: Tender, bid: Bid) -> bool:
    return permissions.can_see_contents(acting.current_actor(), _user(), tender, bid)


@bp.get("/tenders/<int:tender_id>")
def tender(tender_id: int):
    tender = _load(tender_id)
    proposal = tender.proposal
    state = deadlines.effective_state(tender)
    rv: dict[str, Any] = {
        "id": tender.id,
        "proposal_id": proposal.id,
        "title": proposal.title,
        "status": state.status,
        "category": str(tender.category),
        "budget_ceiling": str(tender.budget_ceiling)
        if tender.budget_public and tender.budget_ceiling is not None
        else None,
        "verified_only": tender.verified_only,
        "criteria": tender.criteria,
        "enquiry_ends_at": tender.enquiry_ends_at.isoformat(),
        "bid_deadline_at": tender.bid_deadline_at.isoformat(),
        "opening_at": tender.opening_at.isoformat(),
        "standstill_days": tender.standstill_days,
        "bid_count": bids.bid_count(tender),
        "enquiries": [
            {
                "bidder": f"Bidder {e.bidder_number}",
                "question": e.question,
                "answer": e.answer or None,
            }
            for e in services.enquiries(tender)
        ],
        "opening_record": tender.opening_record,
    }
    if state.status not in ("draft", "enquiry", "bidding", "opened"):
        result = scoring.evaluate(tender)
        rv["ranking"] = [
            {
                "rank": r.rank,
                "bid_id": r.bid.id,
                "bidder": r.bid.bidder.name,
                "price_points": round(r.price_points, 2),
                "quality_points": {k: round(v, 2) for k, v in r.quality_points.items()},
                "total": round(r.total, 2),
            }
            for r in result.ranking
        ]
    if tender.awarded_at is not None:
        rv["award"] = {
            "bid_id": tender.winner_bid_id,
            "justification": tender.award_justification,
            "awarded_at": tender.awarded_at.isoformat(),
            "final_at": state.award_final_at.isoformat() if state.award_final_at else None,
        }
    return jsonify(rv)


@bp.get("/tenders/<int:tender_id>/ocds")
def tender_ocds(tender_id: int):
    tender = _load(tender_id)
    return jsonify(ocds.release_package(tender, deadlines.effective_state(tender)))


@bp.get("/tenders/<int:tender_id>/bids/mine")
def my_bids(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    rows = bids.bid_versions(tender, actor.stakeholder.id)
    items = [_bid_json(tender, b, contents=_can_see_contents(tender, b)) for b in rows]
    return jsonify(items=items)


@bp.post("/tenders/<int:tender_id>/bids")
def submit_bid(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    data = json_body()
    price, text = data.get("price"), data.get("proposal")
    if not isinstance(price, str | int | float) or isinstance(price, bool):
        raise DomainError(_("Send the price as an amount, e.g. “980000.00”."), field="price")
    if not isinstance(text, str):
        raise DomainError(_("Send the technical proposal as text."), field="proposal")
    row = bids.submit_bid(
        actor,
        tender,
        str(price),
        text,
        conditions_confirmed=data.get("conditions_confirmed") is True,
    )
    db.session.commit()
    return jsonify(_bid_json(tender, row, contents=False)), 201


@bp.get("/tenders/<int:tender_id>/bids/<int:bid_id>")
def bid(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    row = db.session.get(Bid, bid_id)
    if not permissions.can_read_bid(acting.current_actor(), _user(), tender, row):
        abort(404)
    return jsonify(_bid_json(tender, row, contents=_can_see_contents(tender, row)))


@bp.post("/tenders/<int:tender_id>/bids/<int:bid_id>/withdraw")
def withdraw(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    row = db.session.get(Bid, bid_id)
    require(permissions.is_own_bid(actor, tender, row), 404)
    bids.withdraw_bid(actor, tender, row)
    db.session.commit()
    return jsonify(_bid_json(tender, row, contents=False))
