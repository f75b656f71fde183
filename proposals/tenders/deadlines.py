"""What time decides in a tender: bidding opens when the enquiry period ends (once every
panel member holds their share), and an award becomes final after its standstill period.

Nothing changes when a page is read: pages show the *effective* state (`effective_state`),
the scheduled tick (`flask coord tick`, `coord.signals.clock_ticked`) settles what is due
(`finalize_due`), and a use case that needs the settled state settles it in its own
transaction (`settle`, `services.settle_bidding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from coord.db import db
from proposals.models import Proposal
from proposals.tenders import clock
from proposals.tenders.award import award_due, final_since, finalize_award
from proposals.tenders.models import Tender
from proposals.tenders.services import bidding_due, settle_bidding


@dataclass(frozen=True)
class State:
    """A tender's state as time has decided it, settled or not."""

    status: str
    award_final_at: datetime | None


def effective_state(tender: Tender, now: datetime | None = None) -> State:
    """Return the tender's state at `now` without changing anything."""
    now = now or clock.now()
    if bidding_due(tender, now):
        return State("bidding", tender.award_final_at)
    if award_due(tender, now):
        return State(tender.proposal.status, final_since(tender))
    return State(tender.proposal.status, tender.award_final_at)


def settle(tender: Tender, now: datetime | None = None) -> bool:
    """Apply what time has decided (bidding opens, an award becomes final); True if changed."""
    now = now or clock.now()
    return settle_bidding(tender, now) or finalize_award(tender, now)


def finalize_due(now: datetime | None = None, **_: object) -> int:
    """Open bidding and finalise awards whose time has come; return how many changed.

    Connected to `coord.signals.clock_ticked` (the sender is the tick's UTC time) and run by
    `flask coord tenders finalize`; the caller commits."""
    rows = db.session.scalars(
        sa.select(Tender)
        .join(Proposal, Proposal.id == Tender.proposal_id)
        .where(Proposal.status.in_(("enquiry", "standstill")))
        .order_by(Tender.id)
    ).all()
    return sum(settle(tender, now) for tender in rows)
