"""After the evaluation: the award and its standstill period, challenges, the award made
final, and the contract with its milestones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord.db import db
from coord.errors import Conflict, NotAllowed
from coord.text import clean_text
from proposals.models import Milestone
from proposals.tenders import clock, permissions
from proposals.tenders.bids import opened_bids
from proposals.tenders.conflicts import declarations
from proposals.tenders.models import Bid, Challenge, Tender
from proposals.tenders.scoring import evaluate
from proposals.tenders.services import (
    record_event,
    refusal,
    require_buyer,
    require_status,
    standstill_ends_at,
    transition,
)
from stakeholders.acting import Actor


def award_tender(actor: Actor, tender: Tender, bid: Bid, justification: str) -> None:
    """Award the tender to a qualified bid with a justification; the standstill period starts.

    During the standstill period the buyer may award again after upholding a challenge."""
    require_buyer(actor, tender)
    status = tender.proposal.status
    if status == "standstill" and not _upheld_since_award(tender):
        raise refusal(_l("The tender is already awarded."), status=409)
    if status not in ("evaluated", "standstill"):
        raise refusal(
            _l("The award can be made only after the evaluation is complete."), status=409
        )
    if (
        bid.tender_id != tender.id
        or not bid.is_qualified
        or bid.id not in {b.id for b in opened_bids(tender)}
    ):
        raise refusal(_l("Choose one of the qualified bids."), "bid_id")
    justification = clean_text(justification or "").strip()
    if not 1 <= len(justification) <= 5000:
        raise refusal(_l("Give the justification of the award."), "justification")
    ranking = {r.bid.id: r.rank for r in evaluate(tender).ranking}
    tender.winner_bid_id = bid.id
    tender.award_justification = justification
    tender.awarded_at = clock.now()
    if status == "evaluated":
        transition(actor, tender.proposal, "award")
        transition(actor, tender.proposal, "start_standstill")
    record_event(
        "tender.award",
        tender,
        actor,
        {
            "bid_id": bid.id,
            "bidder_id": bid.bidder_id,
            "price": str(bid.price),
            "rank": ranking.get(bid.id),
            "justification": justification,
            "standstill_days": tender.standstill_days,
            "declarations": len(declarations(tender)),
        },
    )


def _upheld_since_award(tender: Tender) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Challenge.tender_id == tender.id,
                Challenge.outcome == "upheld",
                Challenge.decided_at >= tender.awarded_at,
            )
        )
        > 0
    )


def challenges(tender: Tender) -> list[Challenge]:
    """Return the tender's challenges, oldest first."""
    return db.session.scalars(
        sa.select(Challenge).where(Challenge.tender_id == tender.id).order_by(Challenge.id)
    ).all()


def file_challenge(actor: Actor, tender: Tender, text: str) -> Challenge:
    """A bidder whose bid was opened challenges the award during the standstill period."""
    require_status(
        tender,
        "standstill",
        message=_l("An award can be challenged only during the standstill period."),
    )
    if tender.award_final_at is not None or clock.now() >= (
        standstill_ends_at(tender) or clock.now()
    ):
        raise refusal(_l("The standstill period is over."), status=409)
    if actor.stakeholder.id not in {b.bidder_id for b in opened_bids(tender)}:
        raise NotAllowed(str(_l("Only bidders whose bids were opened can challenge the award.")))
    text = clean_text(text or "").strip()
    if not 1 <= len(text) <= 5000:
        raise refusal(_l("Explain the challenge (up to 5000 characters)."), "text")
    rv = Challenge(
        tender_id=tender.id,
        bidder_id=actor.stakeholder.id,
        user_id=actor.user.id,
        text=text,
        messages=[],
    )
    db.session.add(rv)
    db.session.flush()
    record_event(
        "tender.challenge",
        tender,
        actor,
        {"challenge_id": rv.id, "bidder_id": actor.stakeholder.id},
    )
    return rv


def post_challenge_message(actor: Actor, tender: Tender, challenge: Challenge, text: str) -> None:
    """Write in a challenge's thread (the buyer or the challenger, while it is open)."""
    if challenge.tender_id != tender.id or not permissions.can_read_challenge(
        actor, tender, challenge
    ):
        raise NotAllowed(str(_l("Only the buyer and the challenger write in this thread.")))
    if challenge.outcome != "open":
        raise Conflict(str(_l("This challenge has been decided.")))
    text = clean_text(text or "").strip()
    if not 1 <= len(text) <= 5000:
        raise refusal(_l("Write a message of up to 5000 characters."), "text")
    by = "buyer" if permissions.is_buyer(actor, tender) else "bidder"
    challenge.messages = [
        *challenge.messages,
        {"by": by, "user_id": actor.user.id, "text": text, "at": clock.now().isoformat()},
    ]
    record_event(
        "tender.challenge_message", tender, actor, {"challenge_id": challenge.id}, public=False
    )


def decide_challenge(
    actor: Actor, tender: Tender, challenge: Challenge, outcome: str, reason: str
) -> None:
    """The buyer upholds or dismisses a challenge with a public reason."""
    require_buyer(actor, tender)
    if challenge.tender_id != tender.id:
        raise refusal(_l("This challenge belongs to another tender."), status=404)
    if challenge.outcome != "open":
        raise Conflict(str(_l("This challenge has been decided.")))
    if outcome not in ("upheld", "dismissed"):
        raise refusal(_l("Uphold or dismiss the challenge."), "outcome")
    reason = clean_text(reason or "").strip()
    if not 1 <= len(reason) <= 5000:
        raise refusal(_l("Give the reason for the decision."), "reason")
    challenge.outcome, challenge.outcome_reason, challenge.decided_at = outcome, reason, clock.now()
    record_event(
        "tender.challenge_decide",
        tender,
        actor,
        {"challenge_id": challenge.id, "outcome": outcome, "reason": reason},
    )


def award_due(tender: Tender, now: datetime) -> bool:
    """Whether the award becomes final at `now`: the standstill period is over, no challenge
    is open and none was upheld since the (latest) award."""
    end = standstill_ends_at(tender)
    if (
        tender.proposal.status != "standstill"
        or tender.award_final_at is not None
        or end is None
        or now < end
    ):
        return False
    blocking = db.session.scalar(
        sa.select(sa.func.count()).where(
            Challenge.tender_id == tender.id, Challenge.outcome == "open"
        )
    )
    return not blocking and not _upheld_since_award(tender)


def final_since(tender: Tender) -> datetime | None:
    """Return when a due award became final: the end of the standstill period, or the later
    decision of the last challenge."""
    end = standstill_ends_at(tender)
    decided = db.session.scalar(
        sa.select(sa.func.max(Challenge.decided_at)).where(Challenge.tender_id == tender.id)
    )
    return max(end, decided) if end and decided else end


def finalize_award(tender: Tender, now: datetime | None = None) -> bool:
    """Make the award final once the standstill period is over with no challenge pending."""
    now = now or clock.now()
    if not award_due(tender, now):
        return False
    tender.award_final_at = now
    record_event("tender.award_final", tender, None, {"bid_id": tender.winner_bid_id})
    return True


def sign_contract(
    actor: Actor, tender: Tender, milestones: Sequence[tuple[str, datetime]]
) -> list[Milestone]:
    """Sign the contract once the award is final: implementation starts with milestones."""
    require_buyer(actor, tender)
    require_status(tender, "standstill", message=_l("The contract is signed after the award."))
    finalize_award(tender)
    if tender.award_final_at is None:
        raise refusal(
            _l(
                "The award is not final yet: wait for the end of the standstill period "
                "and any challenge."
            ),
            status=409,
        )
    rows = []
    for title, due in milestones:
        title = clean_text(title or "").strip()
        if not title:
            continue
        if len(title) > 120 or not isinstance(due, datetime):
            raise refusal(
                _l("Each milestone needs a title (up to 120 characters) and a due date."),
                "milestones",
            )
        rows.append(Milestone(proposal_id=tender.proposal_id, title=title, due_on=due))
    if not rows:
        raise refusal(_l("Add at least one milestone."), "milestones")
    db.session.add_all(rows)
    db.session.flush()
    transition(actor, tender.proposal, "sign_contract")
    record_event(
        "tender.contract",
        tender,
        actor,
        {"milestones": [{"title": m.title, "due": m.due_on.isoformat()} for m in rows]},
    )
    return rows


def milestones(tender: Tender) -> list[Milestone]:
    """Return the contract's milestones by due date."""
    return db.session.scalars(
        sa.select(Milestone)
        .where(Milestone.proposal_id == tender.proposal_id)
        .order_by(Milestone.due_on, Milestone.id)
    ).all()
