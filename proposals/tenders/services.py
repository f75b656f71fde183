"""Tender use cases shared by every step, and the first ones: create and publish with
sealed-bid keys, take shares, open bidding, enquiries.

The later steps live beside this module, one per feature: `bids` (sealed bids and the
opening), `conflicts` (conflicts of interest), `scoring` (scores and the evaluation),
`award` (award, challenges, finalisation, contract) and `deadlines` (what time decides).
Every service takes the acting user explicitly, checks its rules, changes the models,
appends an audit event and flushes; the view commits. The sealing design and its threat
model are in ``docs/tenders.md``; the cryptography is in the pure ``proposals.tenders.sealing``.

Never log, flash, audit or store in clear a bid's price or text before opening, nor a
share code or the secret K at any time (a share waits, encrypted with the platform data
key, until its panel member takes it once).
"""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord import audit, crypto
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.i18n import AUDIT_LABELS
from coord.models import User
from coord.text import clean_text
from proposals import services as proposal_services
from proposals.models import Proposal, ProposalTransition
from proposals.tenders import clock, permissions, sealing
from proposals.tenders.models import Bid, Enquiry, Panelist, Tender, TenderCategory
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

MAX_PANEL = 15
MAX_QUALITY_CRITERIA = 8
MAX_PRICE = Decimal("999999999999.99")
CURRENCY = "CNY"
#: Lifecycle actions the generic proposal pages may still trigger on a tender.
GENERIC_ACTIONS = frozenset({"cancel", "close"})

AUDIT_LABELS.update(
    {
        "tender.publish": _l("published a tender with its sealing key"),
        "tender.share_taken": _l("took their opening share"),
        "tender.enquiry_ask": _l("asked a question about a tender"),
        "tender.enquiry_answer": _l("answered a question about a tender"),
        "tender.bid_submit": _l("submitted a sealed bid"),
        "tender.bid_withdraw": _l("withdrew a sealed bid"),
        "tender.open": _l("opened the bids of a tender"),
        "tender.open_failed": _l("entered share codes that did not open a tender"),
        "tender.conflict_declare": _l("declared a conflict of interest"),
        "tender.recuse": _l("recused themself from an evaluation"),
        "tender.score": _l("scored bids"),
        "tender.disqualify": _l("disqualified a bid"),
        "tender.evaluate": _l("completed an evaluation"),
        "tender.award": _l("awarded a tender"),
        "tender.challenge": _l("challenged an award"),
        "tender.challenge_message": _l("wrote in a challenge"),
        "tender.challenge_decide": _l("decided a challenge"),
        "tender.award_final": _l("made an award final"),
        "tender.contract": _l("signed a contract with milestones"),
    }
)

_in_tender_step: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "coord_tender_step", default=False
)


def refusal(message: Any, field: str | None = None, status: int | None = None) -> DomainError:
    """Return the refusal of a use case with a translatable message (to raise)."""
    return DomainError(str(message), field=field, status=status)


# -- Guard: tender steps go through these services -------------------------------------------


@contextmanager
def _step() -> Iterator[None]:
    token = _in_tender_step.set(True)
    try:
        yield
    finally:
        _in_tender_step.reset(token)


def transition(actor: Actor | None, proposal: Proposal, action: str, **kw: Any) -> str:
    """Move a tender's proposal through its lifecycle (the generic guard lets it through)."""
    with _step():
        return proposal_services.transition_proposal(actor, proposal, action, **kw)


def refuse_generic_steps(proposal: Proposal, **extra: Any) -> None:
    """A tender's keys, opening and award need these services: refuse the generic buttons."""
    generic = extra.get("action") in GENERIC_ACTIONS
    if proposal.kind == "tender" and not _in_tender_step.get() and not generic:
        raise Conflict(str(_l("Use the tender page for this step.")))


# -- Small helpers ----------------------------------------------------------------------------


def context(tender: Tender) -> bytes:
    """The associated data that binds a tender's wrapped key and share digests to it."""
    return f"coord-tender:{tender.id}".encode()


def tender_for(proposal: Proposal) -> Tender | None:
    """Return the tender part of a proposal of kind `tender`."""
    return db.session.scalar(sa.select(Tender).where(Tender.proposal_id == proposal.id))


def standstill_ends_at(tender: Tender) -> datetime | None:
    """Return when the standstill period after the (latest) award ends."""
    if tender.awarded_at is None:
        return None
    return tender.awarded_at + timedelta(days=tender.standstill_days)


def quality_criteria(tender: Tender) -> list[dict[str, Any]]:
    """Return the quality criteria (scored by the panel), in order."""
    return [c for c in tender.criteria if c["kind"] == "quality"]


def price_weight(tender: Tender) -> int:
    """Return the weight of the price criterion (0 when price does not count)."""
    return sum(c["weight"] for c in tender.criteria if c["kind"] == "price")


def panelists(tender: Tender) -> list[Panelist]:
    """Return the panel in share order."""
    return db.session.scalars(
        sa.select(Panelist).where(Panelist.tender_id == tender.id).order_by(Panelist.share_index)
    ).all()


def panelist_for(user: User | None, tender: Tender) -> Panelist | None:
    """Return the user's seat on the tender's panel, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Panelist).where(Panelist.tender_id == tender.id, Panelist.user_id == user.id)
    )


def require_buyer(actor: Actor, tender: Tender) -> None:
    """Refuse (403) an actor who may not act for the tender's buyer."""
    if not permissions.is_buyer(actor, tender):
        raise NotAllowed(str(_l("Only the buyer can do this.")))


def require_status(tender: Tender, *states: str, message: Any) -> None:
    """Refuse (409) with `message` unless the tender is in one of `states`."""
    if tender.proposal.status not in states:
        raise refusal(message, status=409)


def lock(tender: Tender) -> Tender:
    """Lock the tender row for this transaction (SELECT … FOR UPDATE on PostgreSQL)."""
    return db.session.execute(
        sa.select(Tender)
        .where(Tender.id == tender.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def record_event(
    action: str,
    tender: Tender,
    actor: Actor | None,
    data: dict[str, Any],
    *,
    public: bool = True,
    user: User | None = None,
) -> None:
    """Append the tender's audit event (as the actor, or as a panel member `user`)."""
    ids: dict[str, int] = actor.audit_ids if actor else {}
    if user is not None and actor is None:
        ids = {"user_id": user.id}
    audit.record(
        action,
        "tender",
        tender.id,
        community_id=tender.proposal.community_id,
        is_public=public,
        data={"proposal_id": tender.proposal_id, **data},
        **ids,
    )


def stakeholder_names(ids: set[int]) -> dict[int, str]:
    """Return {stakeholder id: name} for the given ids (one query)."""
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(ids))
        ).all()
    )


# -- Creating and publishing ------------------------------------------------------------------


def money(value: Any, field: str, *, message: Any) -> Decimal:
    """Read a positive amount with at most two decimals, or refuse it on `field`."""
    try:
        rv = Decimal(str(value).strip().replace(",", "")) if value is not None else None
    except (InvalidOperation, ValueError):
        rv = None
    if (
        rv is None or not rv.is_finite() or rv <= 0 or rv > MAX_PRICE or rv.as_tuple().exponent < -2  # type: ignore[operator]
    ):
        raise refusal(message, field)
    return rv.quantize(Decimal("0.01"))


def _criteria(price: Any, quality: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    message = _l("Weights are whole numbers from 0 to 100 and add up to 100.")
    try:
        price_w = int(price)
    except (TypeError, ValueError):
        raise refusal(message, "price_weight") from None
    rv: list[dict[str, Any]] = [
        {"key": "price", "name": "price", "kind": "price", "weight": price_w}
    ]
    names: set[str] = set()
    for i, (name, weight) in enumerate(quality, start=1):
        name = clean_text(name or "").strip()
        if not name:
            continue
        if len(name) > 60 or name in names:
            raise refusal(_l("Give each quality criterion a different, short name."), "criteria")
        try:
            w = int(weight)
        except (TypeError, ValueError):
            raise refusal(message, "criteria") from None
        if not 1 <= w <= 100:
            raise refusal(message, "criteria")
        names.add(name)
        rv.append({"key": f"q{i}", "name": name, "kind": "quality", "weight": w})
    if len(rv) == 1:
        raise refusal(_l("Add at least one quality criterion for the panel to score."), "criteria")
    if len(rv) > MAX_QUALITY_CRITERIA + 1:
        raise refusal(_l("Use at most %(n)d quality criteria.", n=MAX_QUALITY_CRITERIA), "criteria")
    if not 0 <= price_w <= 100 or sum(c["weight"] for c in rv) != 100:
        raise refusal(message, "criteria")
    return rv


def _panel_users(usernames: Iterable[str]) -> list[User]:
    names = [n.strip().lower() for n in usernames if n and n.strip()]
    if len(set(names)) != len(names):
        raise refusal(_l("Name each panel member once."), "panel")
    users = {
        u.username: u
        for u in db.session.scalars(sa.select(User).where(User.username.in_(names or [""])))
    }
    unknown = [n for n in names if n not in users or not users[n].is_active]
    if unknown:
        raise refusal(_l("Unknown users: %(names)s.", names=", ".join(unknown)), "panel")
    if not 2 <= len(names) <= MAX_PANEL:
        raise refusal(_l("The panel needs from 2 to %(n)d members.", n=MAX_PANEL), "panel")
    return [users[n] for n in names]


def _check_times(data: dict[str, Any]) -> tuple[datetime, datetime, datetime]:
    enquiry, deadline, opening = (
        data.get(k) for k in ("enquiry_ends_at", "bid_deadline_at", "opening_at")
    )
    if not all(isinstance(t, datetime) for t in (enquiry, deadline, opening)):
        raise refusal(
            _l("Set the end of enquiries, the bid deadline and the opening time."),
            "bid_deadline_at",
        )
    now = clock.now()
    if enquiry <= now:
        raise refusal(_l("The enquiry period must end in the future."), "enquiry_ends_at")
    if deadline <= enquiry:
        raise refusal(_l("The bid deadline must come after the enquiry period."), "bid_deadline_at")
    if opening < deadline:
        raise refusal(_l("The opening cannot come before the bid deadline."), "opening_at")
    return enquiry, deadline, opening


def create_tender(actor: Actor, data: dict[str, Any]) -> Tender:
    """Create a tender as a draft (and publish it at once if `data["publish"]`)."""
    if not permissions.can_buy(actor.stakeholder):
        raise NotAllowed(
            str(
                _l(
                    "Only a government unit, a residents committee or an owners committee "
                    "can publish a tender."
                )
            )
        )
    try:
        category = TenderCategory(data.get("category"))
    except ValueError:
        raise refusal(_l("Choose goods, services or works."), "category") from None
    enquiry, deadline, opening = _check_times(data)
    budget = data.get("budget_ceiling")
    if budget not in (None, ""):
        budget = money(
            budget, "budget_ceiling", message=_l("The budget ceiling must be a positive amount.")
        )
    else:
        budget = None
    criteria = _criteria(data.get("price_weight"), data.get("quality") or [])
    users = _panel_users(data.get("panel") or [])
    try:
        k = int(data.get("shares_needed") or 0)
    except (TypeError, ValueError):
        k = 0
    if not 2 <= k <= len(users):
        raise refusal(
            _l("Between 2 and %(n)d panel members must be needed to open the bids.", n=len(users)),
            "shares_needed",
        )
    try:
        standstill = int(data.get("standstill_days", 10))
    except (TypeError, ValueError):
        standstill = -1
    if not 0 <= standstill <= 60:
        raise refusal(_l("The standstill period is from 0 to 60 days."), "standstill_days")
    proposal = proposal_services.create_proposal(
        actor,
        {
            "kind": "tender",
            "community_id": data["community_id"],
            "title": data["title"],
            "summary": data["summary"],
            "body": data.get("body") or "",
            "category": data.get("proposal_category") or "",
            "visibility": "public",
            "deadline": deadline,
        },
    )
    tender = Tender(
        proposal_id=proposal.id,
        category=category,
        scope=clean_text(data.get("scope") or "")[:2000],
        budget_ceiling=budget,
        budget_public=bool(data.get("budget_public", True)),
        verified_only=bool(data.get("verified_only", True)),
        conditions=clean_text(data.get("conditions") or "")[:2000],
        criteria=criteria,
        enquiry_ends_at=enquiry,
        bid_deadline_at=deadline,
        opening_at=opening,
        standstill_days=standstill,
        shares_needed=k,
    )
    tender.proposal = proposal
    db.session.add(tender)
    db.session.flush()
    for i, user in enumerate(users, start=1):
        db.session.add(Panelist(tender_id=tender.id, user_id=user.id, share_index=i))
    db.session.flush()
    if data.get("publish"):
        publish_tender(actor, tender)
    return tender


def publish_tender(actor: Actor, tender: Tender) -> None:
    """Publish a draft: make the key pair, wrap the private key with a random K and split K
    among the panel (k of n); each share waits, encrypted, until its member takes it."""
    require_buyer(actor, tender)
    require_status(tender, "draft", message=_l("This tender is already published."))
    _check_times(
        {
            "enquiry_ends_at": tender.enquiry_ends_at,
            "bid_deadline_at": tender.bid_deadline_at,
            "opening_at": tender.opening_at,
        }
    )
    panel = panelists(tender)
    public, private = sealing.generate_keypair()
    secret = secrets.token_bytes(sealing.SECRET_BYTES)
    tender.public_key = public
    tender.wrapped_private_key = sealing.wrap_key(private, secret, context(tender))
    shares = sealing.split_secret(secret, len(panel), tender.shares_needed)
    for seat, (index, value) in zip(panel, shares, strict=True):
        seat.share_index = index
        seat.share_digest = sealing.share_digest(context(tender), index, value)
        seat.share_sealed = crypto.encrypt(sealing.encode_share(index, value))
    del private, secret, shares
    transition(actor, tender.proposal, "publish")
    record_event(
        "tender.publish",
        tender,
        actor,
        {
            "key_fingerprint": sealing.fingerprint(public),
            "panel": len(panel),
            "shares_needed": tender.shares_needed,
        },
    )


def take_share(user: User, tender: Tender) -> str:
    """Hand a panel member their share code, once; afterwards only its digest remains."""
    seat = panelist_for(user, tender)
    if seat is None:
        raise NotAllowed(str(_l("Only members of the evaluation panel have a share.")))
    if seat.share_sealed is None:
        raise Conflict(
            str(
                _l(
                    "You have already taken your share. It is shown only once and cannot "
                    "be shown again."
                )
            )
        )
    code = crypto.decrypt(seat.share_sealed) or ""
    seat.share_sealed = None
    seat.share_shown_at = clock.now()
    record_event("tender.share_taken", tender, None, {"share_index": seat.share_index}, user=user)
    return code


def shares_pending(tender: Tender) -> int:
    """Return how many panel members have not taken their share yet."""
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Panelist.tender_id == tender.id, Panelist.share_sealed.is_not(None)
        )
    )


def open_bidding(actor: Actor, tender: Tender, reason: str = "") -> None:
    """End the enquiry period now and accept bids; every panel member must hold their share.
    Cutting the published period short needs a reason, shown publicly and sent to the
    followers and bidders."""
    require_buyer(actor, tender)
    require_status(tender, "enquiry", message=_l("Bidding is not waiting to open."))
    if shares_pending(tender):
        raise refusal(
            _l("Bidding can open once every panel member has taken their opening share."),
            status=409,
        )
    reason = " ".join(reason.split())
    if tender.enquiry_ends_at > clock.now():
        if not reason:
            raise refusal(_l("Say why the enquiry period ends early."), field="reason")
        tender.enquiry_ends_at = clock.now()
    transition(actor, tender.proposal, "open_bidding", reason=reason)


def early_end(tender: Tender) -> ProposalTransition | None:
    """Return the step that ended the tender's enquiry period early with a reason (else None)."""
    return db.session.scalar(
        sa.select(ProposalTransition)
        .where(
            ProposalTransition.proposal_id == tender.proposal_id,
            ProposalTransition.action == "open_bidding",
            ProposalTransition.reason != "",
        )
        .order_by(ProposalTransition.id.desc())
        .limit(1)
    )


def participants(proposal: Proposal) -> set[int]:
    """Return the ids of the businesses taking part in a tender: those who asked or bid."""
    tender = tender_for(proposal)
    if tender is None:
        return set()
    asked = sa.select(Enquiry.asker_id).where(Enquiry.tender_id == tender.id)
    bid = sa.select(Bid.bidder_id).where(Bid.tender_id == tender.id)
    return set(db.session.scalars(sa.union(asked, bid)))


def bidding_due(tender: Tender, now: datetime) -> bool:
    """Whether bidding opens by itself at `now`: the enquiry period is over, every share taken."""
    return (
        tender.proposal.status == "enquiry"
        and now >= tender.enquiry_ends_at
        and not shares_pending(tender)
    )


def settle_bidding(tender: Tender, now: datetime | None = None) -> bool:
    """Open bidding if its time has come (the tick, or a use case that needs it); True if so."""
    if not bidding_due(tender, now or clock.now()):
        return False
    transition(None, tender.proposal, "open_bidding", system=True)
    return True


# -- Enquiries --------------------------------------------------------------------------------


#: Why an unconfirmed business may not bid (the service's refusal and the tender page's note).
UNCONFIRMED_BIDDER = _l(
    "Your business is not confirmed yet: it can bid once the street office has checked its "
    "unified social credit code or registration."
)


def check_bidder(stakeholder: Stakeholder | None, tender: Tender) -> None:
    """Refuse organisations that may not ask or bid: businesses only, verified if required."""
    if not permissions.is_business(stakeholder):
        raise NotAllowed(
            str(_l("Only businesses can take part in a tender. Act as your business."))
        )
    if not permissions.can_take_part(stakeholder, tender):
        raise NotAllowed(str(_l("Only verified organisations can take part in this tender.")))


def check_can_bid(stakeholder: Stakeholder | None, tender: Tender) -> None:
    """Refuse bidders that may not take part, and businesses the street office has not confirmed."""
    check_bidder(stakeholder, tender)
    if not permissions.can_bid(stakeholder, tender):
        raise NotAllowed(str(UNCONFIRMED_BIDDER))


def ask_question(actor: Actor, tender: Tender, question: str) -> Enquiry:
    """Ask a question during the enquiry period; it is published as “Bidder n”."""
    check_bidder(actor.stakeholder, tender)
    if tender.proposal.status != "enquiry" or clock.now() >= tender.enquiry_ends_at:
        raise refusal(_l("Questions are accepted only during the enquiry period."), status=409)
    question = clean_text(question or "").strip()
    if not 1 <= len(question) <= 2000:
        raise refusal(_l("Write a question of up to 2000 characters."), "question")
    number = db.session.scalar(
        sa.select(Enquiry.bidder_number)
        .where(Enquiry.tender_id == tender.id, Enquiry.asker_id == actor.stakeholder.id)
        .limit(1)
    )
    if number is None:
        number = 1 + (
            db.session.scalar(
                sa.select(sa.func.max(Enquiry.bidder_number)).where(Enquiry.tender_id == tender.id)
            )
            or 0
        )
    rv = Enquiry(
        tender_id=tender.id, asker_id=actor.stakeholder.id, bidder_number=number, question=question
    )
    db.session.add(rv)
    db.session.flush()
    record_event(
        "tender.enquiry_ask",
        tender,
        actor,
        {"enquiry_id": rv.id, "bidder_number": number},
        public=False,
    )
    return rv


def answer_question(actor: Actor, tender: Tender, enquiry: Enquiry, answer: str) -> None:
    """Answer a question publicly (the buyer, before the bids are opened)."""
    require_buyer(actor, tender)
    if enquiry.tender_id != tender.id:
        raise refusal(_l("This question belongs to another tender."), status=404)
    require_status(
        tender,
        "enquiry",
        "bidding",
        message=_l("Questions can be answered until the bids are opened."),
    )
    if enquiry.answered_at is not None:
        raise Conflict(str(_l("This question has already been answered.")))
    answer = clean_text(answer or "").strip()
    if not 1 <= len(answer) <= 5000:
        raise refusal(_l("Write an answer of up to 5000 characters."), "answer")
    enquiry.answer = answer
    enquiry.answered_at = clock.now()
    record_event("tender.enquiry_answer", tender, actor, {"enquiry_id": enquiry.id})


def enquiries(tender: Tender) -> list[Enquiry]:
    """Return the tender's questions in the order they were asked."""
    return db.session.scalars(
        sa.select(Enquiry).where(Enquiry.tender_id == tender.id).order_by(Enquiry.id)
    ).all()
