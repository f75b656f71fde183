"""Open data: a tender as an OCDS 1.1 release package (Open Contracting Data Standard).

One release describes the tender as it stands: the tender with its periods, criteria and
enquiries, the parties (buyer, tenderers, supplier), the bids (statistics; details only
after opening — never a sealed bid's content), the award and the contract's milestones.

Bids and enquiries use the official bid and enquiry extensions (listed in `extensions`);
everything else is core OCDS 1.1. Before opening, nothing about a bid but the count of
current bids is published, and no bidder is named (tenderers appear from the opening on).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, url_for

from coord.db import utcnow
from proposals.tenders import award, bids, services
from proposals.tenders.deadlines import State
from proposals.tenders.models import Bid, Tender

VERSION = "1.1"
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_enquiry_extension/v1.1.5/extension.json",
]
DEFAULT_PREFIX = "ocds-coord00"

_TENDER_STATUS = {
    "draft": "planning",
    "enquiry": "active",
    "bidding": "active",
    "opened": "active",
    "evaluated": "active",
    "awarded": "complete",
    "standstill": "complete",
    "implementing": "complete",
    "closed": "complete",
    "cancelled": "cancelled",
}
_MILESTONE_STATUS = {
    "scheduled": "scheduled",
    "met": "met",
    "not_met": "notMet",
    "partially_met": "partiallyMet",
}


def _date(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _amount(value: Decimal | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"amount": float(value), "currency": services.CURRENCY}


def _party_id(stakeholder_id: int) -> str:
    return f"coord-stakeholder-{stakeholder_id}"


def ocid(tender: Tender) -> str:
    """Return the tender's Open Contracting ID: the configured prefix and the tender id."""
    prefix = current_app.config.get("OCDS_PREFIX", DEFAULT_PREFIX)
    return f"{prefix}-tender-{tender.id}"


def _clean(value: Any) -> Any:
    """Drop None values and empty containers (OCDS prefers absent to null)."""
    if isinstance(value, dict):
        rv = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in rv.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _tags(status: str) -> list[str]:
    if status in ("awarded", "standstill"):
        return ["award"]
    if status in ("implementing", "closed"):
        return ["contract"]
    if status == "cancelled":
        return ["tenderCancellation"]
    return ["tender"]


def release(tender: Tender, state: State) -> dict[str, Any]:
    """Build the tender's OCDS release as it stands (in its effective `state`)."""
    proposal = tender.proposal
    opened = bids.opened_bids(tender) if tender.opening_record else []
    winner = next((b for b in opened if b.id == tender.winner_bid_id), None)
    changed = max(
        (
            t
            for t in (
                proposal.last_activity_at,
                tender.opened_at,
                tender.awarded_at,
                state.award_final_at,
            )
            if t
        ),
        default=proposal.created_at,
    )
    buyer = {"id": _party_id(proposal.author.id), "name": proposal.author.name}
    rv = {
        "ocid": ocid(tender),
        "id": f"{ocid(tender)}-{state.status}-{int(changed.timestamp())}",
        "date": _date(changed),
        "tag": _tags(state.status),
        "initiationType": "tender",
        "language": "zh",
        "parties": _parties(tender, opened, winner),
        "buyer": buyer,
        "tender": _tender_block(tender, state.status, opened),
        "bids": _bids(tender, opened),
        "awards": _awards(tender, state, winner),
        "contracts": _contracts(tender, state.status, winner),
    }
    return _clean(rv)


def _parties(tender: Tender, opened: list[Bid], winner: Bid | None) -> list[dict[str, Any]]:
    buyer = tender.proposal.author
    rv: dict[int, dict[str, Any]] = {
        buyer.id: {
            "id": _party_id(buyer.id),
            "name": buyer.name,
            "roles": ["buyer", "procuringEntity"],
        }
    }
    for bid in opened:
        party = rv.setdefault(
            bid.bidder_id,
            {"id": _party_id(bid.bidder_id), "name": bid.bidder.name, "roles": []},
        )
        party["roles"].append("tenderer")
    if winner is not None:
        rv[winner.bidder_id]["roles"].append("supplier")
    return list(rv.values())


def _tender_block(tender: Tender, status: str, opened: list[Bid]) -> dict[str, Any]:
    proposal = tender.proposal
    buyer = proposal.author
    enquiries = services.enquiries(tender)
    criteria = "; ".join(
        f"{c['name']} {c['weight']}%" for c in tender.criteria if c["kind"] == "quality"
    )
    return {
        "id": str(tender.id),
        "title": proposal.title,
        "description": proposal.summary,
        "status": _TENDER_STATUS.get(status, "active"),
        "procuringEntity": {"id": _party_id(buyer.id), "name": buyer.name},
        "value": _amount(tender.budget_ceiling) if tender.budget_public else None,
        "procurementMethod": "open",
        "mainProcurementCategory": str(tender.category),
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": (
            f"price {services.price_weight(tender)}% (lowest price / bid price x weight); "
            f"quality: {criteria}"
        ),
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": "Sealed bids, opened at once at the opening ceremony.",
        "tenderPeriod": {
            "startDate": _date(proposal.published_at),
            "endDate": _date(tender.bid_deadline_at),
        },
        "enquiryPeriod": {
            "startDate": _date(proposal.published_at),
            "endDate": _date(tender.enquiry_ends_at),
        },
        "awardPeriod": {"startDate": _date(tender.opening_at), "endDate": _date(tender.awarded_at)},
        "hasEnquiries": bool(enquiries),
        "eligibilityCriteria": _eligibility(tender),
        "numberOfTenderers": len(opened) if tender.opening_record else None,
        "tenderers": [{"id": _party_id(b.bidder_id), "name": b.bidder.name} for b in opened],
        "enquiries": [
            {
                "id": str(e.id),
                "date": _date(e.asked_at),
                "author": {"name": f"Bidder {e.bidder_number}"},
                "title": e.question[:80],
                "description": e.question,
                "answer": e.answer or None,
                "dateAnswered": _date(e.answered_at),
            }
            for e in enquiries
        ],
    }


def _bids(tender: Tender, opened: list[Bid]) -> dict[str, Any]:
    rv: dict[str, Any] = {
        "statistics": [
            {
                "id": "bids",
                "measure": "bids",
                "value": len(opened) if tender.opening_record else bids.bid_count(tender),
                "date": _date(utcnow()),
            }
        ]
    }
    if tender.opening_record:
        rv["details"] = [
            {
                "id": str(b.id),
                "date": _date(b.submitted_at),
                "status": "valid" if b.is_qualified else "disqualified",
                "tenderers": [{"id": _party_id(b.bidder_id), "name": b.bidder.name}],
                "value": _amount(b.price),
            }
            for b in opened
        ]
    return rv


def _awards(tender: Tender, state: State, winner: Bid | None) -> list[dict[str, Any]]:
    if winner is None:
        return []
    return [
        {
            "id": f"{tender.id}-award",
            "title": tender.proposal.title,
            "description": tender.award_justification,
            "status": "active" if state.award_final_at else "pending",
            "date": _date(tender.awarded_at),
            "value": _amount(winner.price),
            "suppliers": [{"id": _party_id(winner.bidder_id), "name": winner.bidder.name}],
        }
    ]


def _contracts(tender: Tender, status: str, winner: Bid | None) -> list[dict[str, Any]]:
    if status not in ("implementing", "closed") or winner is None:
        return []
    return [
        {
            "id": f"{tender.id}-contract",
            "awardID": f"{tender.id}-award",
            "title": tender.proposal.title,
            "status": "active" if status == "implementing" else "terminated",
            "value": _amount(winner.price),
            "milestones": [
                {
                    "id": str(m.id),
                    "title": m.title,
                    "type": "delivery",
                    "dueDate": _date(m.due_on),
                    "status": _MILESTONE_STATUS.get(m.status, "scheduled"),
                }
                for m in award.milestones(tender)
            ],
        }
    ]


def _eligibility(tender: Tender) -> str:
    parts = ["Businesses registered on the platform."]
    if tender.verified_only:
        parts.append("Verified organisations only.")
    if tender.conditions:
        parts.append(tender.conditions)
    return " ".join(parts)


def release_package(tender: Tender, state: State) -> dict[str, Any]:
    """Wrap the tender's release (in its effective `state`) in an OCDS 1.1 release package."""
    item = release(tender, state)
    return {
        "uri": url_for("tenders.ocds", tender_id=tender.id, _external=True),
        "version": VERSION,
        "extensions": EXTENSIONS,
        "publishedDate": item["date"],
        "publisher": {"name": current_app.config.get("OCDS_PUBLISHER", "Coord")},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": url_for("tenders.detail", tender_id=tender.id, _external=True),
        "releases": [item],
    }
