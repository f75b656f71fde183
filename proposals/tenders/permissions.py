"""Who may do what in a tender: buy, take part, read bids and challenges, challenge an award."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import sqlalchemy as sa

from coord.db import db
from coord.models import User
from proposals import permissions as perm
from proposals.tenders.models import Bid, Challenge, Panelist, Tender
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Stakeholder

if TYPE_CHECKING:
    from proposals.tenders.deadlines import State

BUYER_FUNCTIONS = frozenset({Function.RESIDENTS_COMMITTEE, Function.OWNERS_COMMITTEE})


def can_buy(stakeholder: Stakeholder | None) -> bool:
    """Government units, residents committees and owners committees run tenders."""
    return (
        stakeholder is not None
        and not stakeholder.is_deleted
        and (stakeholder.kind == Kind.GOVERNMENT or stakeholder.function in BUYER_FUNCTIONS)
    )


def is_buyer(actor: Actor | None, tender: Tender) -> bool:
    """Whether the actor may act for the buyer (the tender's author organisation)."""
    if actor is None:
        return False
    return "buyer" in perm.roles_for(actor.user, actor.stakeholder.id, tender.proposal)


def is_panelist(user: User | None, tender: Tender) -> bool:
    """Whether the user sits on the tender's evaluation panel."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            sa.select(Panelist.id).where(
                Panelist.tender_id == tender.id, Panelist.user_id == user.id
            )
        )
        is not None
    )


def is_business(stakeholder: Stakeholder | None) -> bool:
    """Whether the stakeholder is a business (the only kind that asks and bids)."""
    return (
        stakeholder is not None and stakeholder.kind == Kind.BUSINESS and not stakeholder.is_deleted
    )


def can_take_part(stakeholder: Stakeholder | None, tender: Tender) -> bool:
    """A business may ask and bid; when the tender requires it, a verified one."""
    return is_business(stakeholder) and (
        not tender.verified_only or stakeholder.is_confirmed  # type: ignore[union-attr]
    )


def can_bid(stakeholder: Stakeholder | None, tender: Tender) -> bool:
    """A business bids once the street office has confirmed it, whatever the tender requires."""
    return can_take_part(stakeholder, tender) and stakeholder.is_confirmed  # type: ignore[union-attr]


def can_see_contents(actor: Actor | None, user: User | None, tender: Tender, bid: Bid) -> bool:
    """Opened bids' proposals: the buyer, the panel and the bidder itself."""
    if tender.opening_record is None or bid.price is None:
        return False
    return (
        is_buyer(actor, tender)
        or is_panelist(user, tender)
        or (actor is not None and actor.stakeholder.id == bid.bidder_id)
    )


def is_own_bid(actor: Actor | None, tender: Tender, bid: Bid | None) -> bool:
    """Whether the bid is one of this tender's bids by the actor's organisation."""
    return (
        bid is not None
        and actor is not None
        and bid.tender_id == tender.id
        and bid.bidder_id == actor.stakeholder.id
    )


def can_read_bid(actor: Actor | None, user: User | None, tender: Tender, bid: Bid | None) -> bool:
    """A bid's page: its own bidder (receipt and status), or whoever may see its contents."""
    if bid is None or bid.tender_id != tender.id:
        return False
    return is_own_bid(actor, tender, bid) or can_see_contents(actor, user, tender, bid)


def can_read_challenge(actor: Actor | None, tender: Tender, challenge: Challenge) -> bool:
    """The thread is for the buyer and the challenging bidder (the outcome is public)."""
    return actor is not None and (
        is_buyer(actor, tender) or actor.stakeholder.id == challenge.bidder_id
    )


def can_challenge(actor: Actor | None, state: State, bidder_ids: Collection[int]) -> bool:
    """A bidder whose bid was opened may challenge during the standstill, before it is final."""
    return (
        actor is not None
        and state.status == "standstill"
        and state.award_final_at is None
        and actor.stakeholder.id in bidder_ids
    )
