"""The evaluation: panel members score the opened, qualified bids; the buyer disqualifies
bids and completes the evaluation (the arithmetic is in the pure `evaluation` module)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord.db import db
from coord.errors import Conflict, NotAllowed
from coord.models import User
from coord.text import clean_text
from proposals.tenders import evaluation
from proposals.tenders.bids import opened_bids
from proposals.tenders.conflicts import declarations
from proposals.tenders.models import Bid, ConflictDeclaration, Panelist, Score, Tender
from proposals.tenders.services import (
    panelist_for,
    panelists,
    price_weight,
    quality_criteria,
    record_event,
    refusal,
    require_buyer,
    require_status,
    transition,
)
from stakeholders.acting import Actor


def _check_can_score(user: User, tender: Tender) -> Panelist:
    seat = panelist_for(user, tender)
    if seat is None:
        raise NotAllowed(str(_l("Only members of the evaluation panel can score bids.")))
    if tender.proposal.status in ("draft", "enquiry", "bidding"):
        raise refusal(_l("Bids can be scored only after they are opened."), status=409)
    require_status(
        tender, "opened", message=_l("The evaluation is complete: scores can no longer change.")
    )
    if seat.recused_at is not None:
        raise NotAllowed(str(_l("You have recused yourself from this evaluation.")))
    if any(d.declared_at is None for d in declarations(tender, user)):
        raise refusal(_l("Declare your conflicts of interest before scoring."), status=409)
    return seat


def score_bids(user: User, tender: Tender, entries: dict[tuple[int, str], tuple[Any, str]]) -> int:
    """Record a panel member's 0–100 scores with justifications: {(bid id, criterion): (score,
    justification)}; all entries are checked before any is stored. Return how many."""
    _check_can_score(user, tender)
    bids = {b.id: b for b in opened_bids(tender) if b.is_qualified}
    keys = {c["key"] for c in quality_criteria(tender)}
    clean: list[tuple[int, str, int, str]] = []
    for (bid_id, criterion), (value, justification) in entries.items():
        if bid_id not in bids or criterion not in keys:
            raise refusal(
                _l("Score only the opened, qualified bids on the quality criteria."), "scores"
            )
        try:
            score = int(str(value).strip())
        except (TypeError, ValueError):
            score = -1
        if str(value).strip() != str(score) or not 0 <= score <= 100:
            raise refusal(_l("Scores are whole numbers from 0 to 100."), "scores")
        justification = clean_text(justification or "").strip()
        if not 1 <= len(justification) <= 1000:
            raise refusal(
                _l("Give a short justification for each score (up to 1000 characters)."), "scores"
            )
        clean.append((bid_id, criterion, score, justification))
    if not clean:
        raise refusal(_l("Enter at least one score."), "scores")
    existing = {
        (s.bid_id, s.criterion): s
        for s in db.session.scalars(
            sa.select(Score).where(Score.tender_id == tender.id, Score.user_id == user.id)
        )
    }
    for bid_id, criterion, score, justification in clean:
        row = existing.get((bid_id, criterion))
        if row is None:
            db.session.add(
                Score(
                    tender_id=tender.id,
                    bid_id=bid_id,
                    user_id=user.id,
                    criterion=criterion,
                    score=score,
                    justification=justification,
                )
            )
        else:
            row.score, row.justification = score, justification
    db.session.flush()
    record_event("tender.score", tender, None, {"scores": len(clean)}, public=False, user=user)
    return len(clean)


def disqualify_bid(actor: Actor, tender: Tender, bid: Bid, reason: str) -> None:
    """The buyer disqualifies an opened bid, with a public reason."""
    require_buyer(actor, tender)
    require_status(
        tender, "opened", message=_l("Bids can be disqualified only during the evaluation.")
    )
    if bid.tender_id != tender.id or bid.id not in {b.id for b in opened_bids(tender)}:
        raise refusal(_l("This bid was not opened in this tender."), status=404)
    reason = clean_text(reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise refusal(_l("Give the reason for the disqualification."), "reason")
    if bid.disqualified_reason:
        raise Conflict(str(_l("This bid is already disqualified.")))
    bid.disqualified_reason = reason
    db.session.execute(sa.delete(Score).where(Score.bid_id == bid.id))
    record_event(
        "tender.disqualify",
        tender,
        actor,
        {"bid_id": bid.id, "bidder_id": bid.bidder_id, "reason": reason},
    )


def evaluate(tender: Tender) -> evaluation.Evaluation:
    """Compute totals and ranking from the scores so far (a fixed number of queries).

    Quality points per criterion = the mean of the scoring members' 0–100 scores × weight
    / 100; price points = lowest qualified price ÷ bid price × price weight; total = sum.
    Ties rank by lower price, then earlier submission.
    """
    scorers = [s for s in panelists(tender) if s.recused_at is None]
    scorer_ids = {s.user_id for s in scorers}
    bids = [b for b in opened_bids(tender) if b.is_qualified]
    criteria = quality_criteria(tender)
    rows = db.session.execute(
        sa.select(Score.user_id, Score.bid_id, Score.criterion, Score.score).where(
            Score.tender_id == tender.id
        )
    ).all()
    rows = [tuple(r) for r in rows if r.user_id in scorer_ids]
    missing = evaluation.missing_scores(
        [s.user_id for s in scorers], rows, len(bids) * len(criteria)
    )
    ranking = evaluation.rank(bids, criteria, rows, price_weight(tender))
    undeclared = db.session.scalar(
        sa.select(sa.func.count()).where(
            ConflictDeclaration.tender_id == tender.id,
            ConflictDeclaration.declared_at.is_(None),
            ConflictDeclaration.user_id.in_(scorer_ids or [0]),
        )
    )
    return evaluation.Evaluation(scorers, ranking, missing, evaluation.deviations(rows), undeclared)


def complete_evaluation(actor: Actor, tender: Tender) -> evaluation.Evaluation:
    """Close the evaluation once every non-recused member scored every qualified bid."""
    require_buyer(actor, tender)
    require_status(
        tender, "opened", message=_l("The evaluation can be completed only after opening.")
    )
    result = evaluate(tender)
    if not result.ranking:
        raise refusal(
            _l("No qualified bid is left to evaluate; cancel the tender instead."), status=409
        )
    if not result.scorers:
        raise refusal(
            _l("Every panel member has recused: the evaluation cannot be completed."), status=409
        )
    if result.undeclared or any(result.missing.values()):
        raise refusal(
            _l(
                "The evaluation is not complete: every panel member must declare their "
                "ties and score every qualified bid on every criterion."
            ),
            status=409,
        )
    transition(actor, tender.proposal, "complete_evaluation")
    record_event(
        "tender.evaluate",
        tender,
        actor,
        {
            "ranking": [
                {
                    "rank": r.rank,
                    "bid_id": r.bid.id,
                    "bidder_id": r.bid.bidder_id,
                    "total": round(r.total, 2),
                }
                for r in result.ranking
            ],
            "deviations": {str(u): len(v) for u, v in result.deviations.items()},
        },
    )
    return result
