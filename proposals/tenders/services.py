"""Tender use cases: publish with sealed-bid keys, shares, enquiries, bids, opening, conflicts
of interest, scoring, award, challenges, finalisation and contract.

Every service takes the acting user explicitly, checks its rules, changes the models,
appends an audit event and flushes; the view commits. The sealing design and its threat
model are in ``docs/tenders.md``; the cryptography is in the pure ``proposals.tenders.sealing``.

Never log, flash, audit or store in clear a bid's price or text before opening, nor a
share code or the secret K at any time (a share waits, encrypted with the platform data
key, until its panel member takes it once).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import secrets
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from coord import audit, crypto, uploads
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.i18n import AUDIT_LABELS
from coord.models import User
from coord.text import clean_text, render_markdown
from proposals import permissions as perm
from proposals import services
from proposals.models import Attachment, Milestone, Proposal
from proposals.tenders import sealing
from proposals.tenders.models import (
    Bid,
    BidStatus,
    Challenge,
    ConflictDeclaration,
    Enquiry,
    Panelist,
    Score,
    Tender,
    TenderCategory,
)
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    Relation,
    RelationStatus,
    Stakeholder,
)
from stakeholders.network import analysis as network

MAX_PANEL = 15
MAX_QUALITY_CRITERIA = 8
MAX_ATTACHMENTS = 5
MAX_PRICE = Decimal("999999999999.99")
BID_PAD = 1024  # sealed bid payloads are padded to a multiple of this many bytes
ATTACHMENT_PAD = 64 * 1024
DEVIATION_POINTS = 25  # a score this far from the other members' mean is flagged
CURRENCY = "CNY"
BUYER_FUNCTIONS = frozenset({Function.RESIDENTS_COMMITTEE, Function.OWNERS_COMMITTEE})
#: Lifecycle actions the generic proposal pages may still trigger on a tender.
GENERIC_ACTIONS = frozenset({"cancel", "close"})

#: Why a sealed bid was flagged at opening (codes are stored; labels are shown).
FLAGS = {
    "receipt_mismatch": _l("The sealed bid does not match its receipt."),
    "cannot_open": _l("The sealed bid could not be decrypted (damaged or tampered with)."),
    "bad_content": _l("The decrypted bid does not belong to this bidder and version."),
    "attachment_mismatch": _l("An attachment is missing or does not match the sealed bid."),
}

AUDIT_LABELS.update(
    {
        "tender.publish": _l("published a tender with its sealing key"),
        "tender.share_taken": _l("took their opening share"),
        "tender.enquiry_ask": _l("asked a question about a tender"),
        "tender.enquiry_answer": _l("answered a question about a tender"),
        "tender.bid_submit": _l("submitted a sealed bid"),
        "tender.bid_withdraw": _l("withdrew a sealed bid"),
        "tender.open": _l("opened the bids of a tender"),
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


def _now() -> datetime:
    """Return the server time (a function so that tests can move the clock)."""
    return utcnow()


def _error(message: Any, field: str | None = None, status: int | None = None) -> DomainError:
    return DomainError(str(message), field=field, status=status)


# -- Guard: tender steps go through these services -------------------------------------------


@contextmanager
def _step() -> Iterator[None]:
    token = _in_tender_step.set(True)
    try:
        yield
    finally:
        _in_tender_step.reset(token)


def _transition(actor: Actor | None, proposal: Proposal, action: str, **kw: Any) -> str:
    with _step():
        return services.transition_proposal(actor, proposal, action, **kw)


def refuse_generic_steps(proposal: Proposal, **extra: Any) -> None:
    """A tender's keys, opening and award need these services: refuse the generic buttons."""
    generic = extra.get("action") in GENERIC_ACTIONS
    if proposal.kind == "tender" and not _in_tender_step.get() and not generic:
        raise Conflict(str(_l("Use the tender page for this step.")))


# -- Small helpers ----------------------------------------------------------------------------


def context(tender: Tender) -> bytes:
    """The associated data that binds a tender's wrapped key and share digests to it."""
    return f"coord-tender:{tender.id}".encode()


def _bid_context(tender_id: int, bidder_id: int, version: int) -> bytes:
    return f"coord-bid:tender={tender_id}:bidder={bidder_id}:version={version}".encode()


def _attachment_context(tender_id: int, bidder_id: int, version: int, n: int) -> bytes:
    return _bid_context(tender_id, bidder_id, version) + f":attachment={n}".encode()


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


def is_buyer(actor: Actor | None, tender: Tender) -> bool:
    """Whether the actor may act for the buyer (the tender's author organisation)."""
    if actor is None:
        return False
    return "buyer" in perm.roles_for(actor.user, actor.stakeholder.id, tender.proposal)


def _require_buyer(actor: Actor, tender: Tender) -> None:
    if not is_buyer(actor, tender):
        raise NotAllowed(str(_l("Only the buyer can do this.")))


def _require_status(tender: Tender, *states: str, message: Any) -> None:
    if tender.proposal.status not in states:
        raise _error(message, status=409)


def _lock(tender: Tender) -> Tender:
    """Lock the tender row for this transaction (SELECT … FOR UPDATE on PostgreSQL)."""
    return db.session.execute(
        sa.select(Tender)
        .where(Tender.id == tender.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _record(
    action: str,
    tender: Tender,
    actor: Actor | None,
    data: dict[str, Any],
    *,
    public: bool = True,
    user: User | None = None,
) -> None:
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


# -- Creating and publishing ------------------------------------------------------------------


def can_buy(stakeholder: Stakeholder | None) -> bool:
    """Government units, residents committees and owners committees run tenders."""
    return (
        stakeholder is not None
        and not stakeholder.is_deleted
        and (stakeholder.kind == Kind.GOVERNMENT or stakeholder.function in BUYER_FUNCTIONS)
    )


def _money(value: Any, field: str, *, message: Any) -> Decimal:
    try:
        rv = Decimal(str(value).strip().replace(",", "")) if value is not None else None
    except (InvalidOperation, ValueError):
        rv = None
    if (
        rv is None or not rv.is_finite() or rv <= 0 or rv > MAX_PRICE or rv.as_tuple().exponent < -2  # type: ignore[operator]
    ):
        raise _error(message, field)
    return rv.quantize(Decimal("0.01"))


def _criteria(price: Any, quality: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    message = _l("Weights are whole numbers from 0 to 100 and add up to 100.")
    try:
        price_w = int(price)
    except (TypeError, ValueError):
        raise _error(message, "price_weight") from None
    rv: list[dict[str, Any]] = [
        {"key": "price", "name": "price", "kind": "price", "weight": price_w}
    ]
    names: set[str] = set()
    for i, (name, weight) in enumerate(quality, start=1):
        name = clean_text(name or "").strip()
        if not name:
            continue
        if len(name) > 60 or name in names:
            raise _error(_l("Give each quality criterion a different, short name."), "criteria")
        try:
            w = int(weight)
        except (TypeError, ValueError):
            raise _error(message, "criteria") from None
        if not 1 <= w <= 100:
            raise _error(message, "criteria")
        names.add(name)
        rv.append({"key": f"q{i}", "name": name, "kind": "quality", "weight": w})
    if len(rv) == 1:
        raise _error(_l("Add at least one quality criterion for the panel to score."), "criteria")
    if len(rv) > MAX_QUALITY_CRITERIA + 1:
        raise _error(_l("Use at most %(n)d quality criteria.", n=MAX_QUALITY_CRITERIA), "criteria")
    if not 0 <= price_w <= 100 or sum(c["weight"] for c in rv) != 100:
        raise _error(message, "criteria")
    return rv


def _panel_users(usernames: Iterable[str]) -> list[User]:
    names = [n.strip().lower() for n in usernames if n and n.strip()]
    if len(set(names)) != len(names):
        raise _error(_l("Name each panel member once."), "panel")
    users = {
        u.username: u
        for u in db.session.scalars(sa.select(User).where(User.username.in_(names or [""])))
    }
    unknown = [n for n in names if n not in users or not users[n].is_active]
    if unknown:
        raise _error(_l("Unknown users: %(names)s.", names=", ".join(unknown)), "panel")
    if not 2 <= len(names) <= MAX_PANEL:
        raise _error(_l("The panel needs from 2 to %(n)d members.", n=MAX_PANEL), "panel")
    return [users[n] for n in names]


def _check_times(data: dict[str, Any]) -> tuple[datetime, datetime, datetime]:
    enquiry, deadline, opening = (
        data.get(k) for k in ("enquiry_ends_at", "bid_deadline_at", "opening_at")
    )
    if not all(isinstance(t, datetime) for t in (enquiry, deadline, opening)):
        raise _error(
            _l("Set the end of enquiries, the bid deadline and the opening time."),
            "bid_deadline_at",
        )
    now = _now()
    if enquiry <= now:
        raise _error(_l("The enquiry period must end in the future."), "enquiry_ends_at")
    if deadline <= enquiry:
        raise _error(_l("The bid deadline must come after the enquiry period."), "bid_deadline_at")
    if opening < deadline:
        raise _error(_l("The opening cannot come before the bid deadline."), "opening_at")
    return enquiry, deadline, opening


def create_tender(actor: Actor, data: dict[str, Any]) -> Tender:
    """Create a tender as a draft (and publish it at once if `data["publish"]`)."""
    if not can_buy(actor.stakeholder):
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
        raise _error(_l("Choose goods, services or works."), "category") from None
    enquiry, deadline, opening = _check_times(data)
    budget = data.get("budget_ceiling")
    if budget not in (None, ""):
        budget = _money(
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
        raise _error(
            _l("Between 2 and %(n)d panel members must be needed to open the bids.", n=len(users)),
            "shares_needed",
        )
    try:
        standstill = int(data.get("standstill_days", 10))
    except (TypeError, ValueError):
        standstill = -1
    if not 0 <= standstill <= 60:
        raise _error(_l("The standstill period is from 0 to 60 days."), "standstill_days")
    proposal = services.create_proposal(
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
    _require_buyer(actor, tender)
    _require_status(tender, "draft", message=_l("This tender is already published."))
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
    _transition(actor, tender.proposal, "publish")
    _record(
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
    seat.share_shown_at = _now()
    _record("tender.share_taken", tender, None, {"share_index": seat.share_index}, user=user)
    return code


def shares_pending(tender: Tender) -> int:
    """Return how many panel members have not taken their share yet."""
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Panelist.tender_id == tender.id, Panelist.share_sealed.is_not(None)
        )
    )


def open_bidding(actor: Actor | None, tender: Tender, *, system: bool = False) -> None:
    """End the enquiry period and accept bids; every panel member must hold their share."""
    if not system:
        _require_buyer(actor, tender)  # type: ignore[arg-type]
    _require_status(tender, "enquiry", message=_l("Bidding is not waiting to open."))
    if shares_pending(tender):
        raise _error(
            _l("Bidding can open once every panel member has taken their opening share."),
            status=409,
        )
    if tender.enquiry_ends_at > _now():
        tender.enquiry_ends_at = _now()
    _transition(actor, tender.proposal, "open_bidding", system=system)


def refresh(tender: Tender) -> bool:
    """Apply what time has decided (bidding opens, an award becomes final); True if changed."""
    now = _now()
    status = tender.proposal.status
    if status == "enquiry" and now >= tender.enquiry_ends_at and not shares_pending(tender):
        open_bidding(None, tender, system=True)
        return True
    if status == "standstill":
        return finalize_award(tender)
    return False


# -- Enquiries --------------------------------------------------------------------------------


def check_bidder(stakeholder: Stakeholder | None, tender: Tender) -> None:
    """Refuse organisations that may not ask or bid: businesses only, verified if required."""
    if stakeholder is None or stakeholder.kind != Kind.BUSINESS or stakeholder.is_deleted:
        raise NotAllowed(
            str(_l("Only businesses can take part in a tender. Act as your business."))
        )
    if tender.verified_only and not stakeholder.is_confirmed:
        raise NotAllowed(str(_l("Only verified organisations can take part in this tender.")))


def ask_question(actor: Actor, tender: Tender, question: str) -> Enquiry:
    """Ask a question during the enquiry period; it is published as “Bidder n”."""
    check_bidder(actor.stakeholder, tender)
    if tender.proposal.status != "enquiry" or _now() >= tender.enquiry_ends_at:
        raise _error(_l("Questions are accepted only during the enquiry period."), status=409)
    question = clean_text(question or "").strip()
    if not 1 <= len(question) <= 2000:
        raise _error(_l("Write a question of up to 2000 characters."), "question")
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
    _record(
        "tender.enquiry_ask",
        tender,
        actor,
        {"enquiry_id": rv.id, "bidder_number": number},
        public=False,
    )
    return rv


def answer_question(actor: Actor, tender: Tender, enquiry: Enquiry, answer: str) -> None:
    """Answer a question publicly (the buyer, before the bids are opened)."""
    _require_buyer(actor, tender)
    if enquiry.tender_id != tender.id:
        raise _error(_l("This question belongs to another tender."), status=404)
    _require_status(
        tender,
        "enquiry",
        "bidding",
        message=_l("Questions can be answered until the bids are opened."),
    )
    if enquiry.answered_at is not None:
        raise Conflict(str(_l("This question has already been answered.")))
    answer = clean_text(answer or "").strip()
    if not 1 <= len(answer) <= 5000:
        raise _error(_l("Write an answer of up to 5000 characters."), "answer")
    enquiry.answer = answer
    enquiry.answered_at = _now()
    _record("tender.enquiry_answer", tender, actor, {"enquiry_id": enquiry.id})


def enquiries(tender: Tender) -> list[Enquiry]:
    """Return the tender's questions in the order they were asked."""
    return db.session.scalars(
        sa.select(Enquiry).where(Enquiry.tender_id == tender.id).order_by(Enquiry.id)
    ).all()


# -- Bids -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file sent with a bid, before any check."""

    filename: str
    data: bytes


def _max_attachment_bytes() -> int:
    return int(current_app.config.get("TENDER_MAX_ATTACHMENT_BYTES", uploads.DEFAULT_MAX_BYTES))


def _check_open_for_bids(tender: Tender) -> None:
    if tender.proposal.status in ("draft", "enquiry"):
        raise _error(_l("Bidding has not opened yet."), status=409)
    if tender.proposal.status != "bidding" or _now() >= tender.bid_deadline_at:
        raise _error(
            _l("The bid deadline has passed: bids are no longer accepted, replaced or withdrawn."),
            status=409,
        )


def active_bid(tender: Tender, bidder_id: int) -> Bid | None:
    """Return the bidder's current (last, not withdrawn) bid version."""
    return db.session.scalar(
        sa.select(Bid).where(
            Bid.tender_id == tender.id, Bid.bidder_id == bidder_id, Bid.status == BidStatus.ACTIVE
        )
    )


def bid_versions(tender: Tender, bidder_id: int) -> list[Bid]:
    """Return every version of a bidder's bid, newest first."""
    return db.session.scalars(
        sa.select(Bid)
        .where(Bid.tender_id == tender.id, Bid.bidder_id == bidder_id)
        .order_by(Bid.version.desc())
    ).all()


def bid_count(tender: Tender) -> int:
    """Return the number of bidders with a bid in (the only thing others see before opening)."""
    return db.session.scalar(
        sa.select(sa.func.count()).where(Bid.tender_id == tender.id, Bid.status == BidStatus.ACTIVE)
    )


def submit_bid(
    actor: Actor,
    tender: Tender,
    price: Any,
    proposal_text: str,
    files: Sequence[Upload] = (),
    *,
    conditions_confirmed: bool = False,
) -> Bid:
    """Seal and store a bid (a new version replaces the bidder's earlier one)."""
    tender = _lock(tender)
    _check_open_for_bids(tender)
    check_bidder(actor.stakeholder, tender)
    amount = _money(
        price, "price", message=_l("The price must be a positive amount with at most two decimals.")
    )
    text = clean_text(proposal_text or "").strip()
    if not 1 <= len(text) <= 50_000:
        raise _error(_l("Write the technical proposal (up to 50,000 characters)."), "proposal")
    if tender.conditions and not conditions_confirmed:
        raise _error(_l("Confirm that you meet the further conditions."), "conditions_confirmed")
    files = [f for f in files if f.data or f.filename]
    if len(files) > MAX_ATTACHMENTS:
        raise _error(_l("Attach at most %(n)d files.", n=MAX_ATTACHMENTS), "attachments")
    checked = [
        uploads.check_upload(
            f.filename, f.data, allowed=frozenset({uploads.PDF}), max_bytes=_max_attachment_bytes()
        )
        for f in files
    ]
    bidder_id = actor.stakeholder.id
    version = 1 + (
        db.session.scalar(
            sa.select(sa.func.max(Bid.version)).where(
                Bid.tender_id == tender.id, Bid.bidder_id == bidder_id
            )
        )
        or 0
    )
    public = bytes(tender.public_key or b"")
    sealed_files = []
    for n, item in enumerate(checked, start=1):
        ciphertext = sealing.seal(
            public,
            item.data,
            _attachment_context(tender.id, bidder_id, version, n),
            pad_to=ATTACHMENT_PAD,
        )
        row = Attachment(
            proposal_id=tender.proposal_id,
            purpose="bid",
            filename="sealed.bin",
            storage_key=uploads.store(ciphertext),
            content_type="application/octet-stream",
            size=len(ciphertext),
            sha256=hashlib.sha256(ciphertext).hexdigest(),
            is_sealed=True,
            user_id=actor.user.id,
        )
        db.session.add(row)
        sealed_files.append((row, item))
    db.session.flush()
    payload = {
        "tender": tender.id,
        "bidder": bidder_id,
        "version": version,
        "price": str(amount),
        "currency": CURRENCY,
        "proposal": text,
        "conditions_confirmed": bool(conditions_confirmed),
        "attachments": [
            {
                "n": n,
                "id": row.id,
                "filename": item.filename,
                "size": len(item.data),
                "sha256": item.sha256,
                "sealed_sha256": row.sha256,
            }
            for n, (row, item) in enumerate(sealed_files, start=1)
        ],
    }
    sealed = sealing.seal(
        public,
        json.dumps(payload, ensure_ascii=False).encode(),
        _bid_context(tender.id, bidder_id, version),
        pad_to=BID_PAD,
    )
    del payload, amount, text
    previous = active_bid(tender, bidder_id)
    if previous is not None:
        previous.status = BidStatus.REPLACED
    bid = Bid(
        tender_id=tender.id,
        bidder_id=bidder_id,
        version=version,
        sealed=sealed,
        receipt=sealing.receipt(sealed),
        submitted_by_id=actor.user.id,
        submitted_at=_now(),
    )
    db.session.add(bid)
    db.session.flush()
    _record(
        "tender.bid_submit",
        tender,
        actor,
        {"bid_id": bid.id, "version": version, "receipt": bid.receipt, "attachments": len(checked)},
        public=False,
    )
    return bid


def withdraw_bid(actor: Actor, tender: Tender, bid: Bid) -> None:
    """Withdraw one's own current bid before the deadline (the sealed versions are kept)."""
    tender = _lock(tender)
    if bid.tender_id != tender.id or bid.bidder_id != actor.stakeholder.id:
        raise NotAllowed(str(_l("You can withdraw only your own bid.")))
    _check_open_for_bids(tender)
    if bid.status != BidStatus.ACTIVE:
        raise Conflict(str(_l("Only the current version of a bid can be withdrawn.")))
    bid.status = BidStatus.WITHDRAWN
    _record(
        "tender.bid_withdraw",
        tender,
        actor,
        {"bid_id": bid.id, "receipt": bid.receipt},
        public=False,
    )


# -- Opening ----------------------------------------------------------------------------------


def _match_codes(tender: Tender, codes: Sequence[str]) -> list[tuple[int, bytes]]:
    seats = {p.share_digest: p for p in panelists(tender)}
    rv: list[tuple[int, bytes]] = []
    used: set[int] = set()
    for n, code in enumerate(codes, start=1):
        if not (code or "").strip():
            continue
        try:
            index, value = sealing.decode_share(code)
        except sealing.ShareError:
            raise _error(
                _l("Share code %(n)d has a typing error: check it.", n=n), "codes"
            ) from None
        seat = seats.get(sealing.share_digest(context(tender), index, value))
        if seat is None:
            raise _error(_l("Share code %(n)d is not a share of this tender.", n=n), "codes")
        if index in used:
            raise _error(_l("Share code %(n)d was entered twice.", n=n), "codes")
        used.add(index)
        rv.append((index, value))
    if len(rv) < tender.shares_needed:
        raise _error(
            _l("Enter the share codes of at least %(k)d panel members.", k=tender.shares_needed),
            "codes",
        )
    return rv


def _open_one(tender: Tender, bid: Bid, private: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Decrypt and check one sealed bid; return its payload (None if unreadable) and a flag."""
    flag = None
    if sealing.receipt(bid.sealed) != bid.receipt:
        flag = "receipt_mismatch"
    try:
        payload = json.loads(
            sealing.unseal(private, bid.sealed, _bid_context(tender.id, bid.bidder_id, bid.version))
        )
        amount = Decimal(payload["price"])
    except (sealing.SealError, ValueError, KeyError, TypeError, InvalidOperation):
        return None, flag or "cannot_open"
    if (
        (payload.get("tender"), payload.get("bidder"), payload.get("version"))
        != (
            tender.id,
            bid.bidder_id,
            bid.version,
        )
        or not amount.is_finite()
        or amount <= 0
    ):
        return None, "bad_content"
    opened_files: list[dict[str, Any]] = []
    for item in payload.get("attachments") or []:
        row = db.session.get(Attachment, item.get("id"))
        try:
            if row is None or row.proposal_id != tender.proposal_id or not row.is_sealed:
                raise ValueError("missing")
            ciphertext = uploads.load(row.storage_key)
            if hashlib.sha256(ciphertext).hexdigest() != item["sealed_sha256"]:
                raise ValueError("changed")
            data = sealing.unseal(
                private,
                ciphertext,
                _attachment_context(tender.id, bid.bidder_id, bid.version, item["n"]),
            )
            if hashlib.sha256(data).hexdigest() != item["sha256"]:
                raise ValueError("changed")
        except (ValueError, KeyError, OSError, sealing.SealError):
            flag = flag or "attachment_mismatch"
            continue
        row.storage_key = uploads.store(data)
        row.filename = item["filename"]
        row.content_type = uploads.PDF
        row.size = len(data)
        row.sha256 = item["sha256"]
        row.is_sealed = False
        opened_files.append({"id": row.id, "filename": row.filename, "size": row.size})
    payload["opened_attachments"] = opened_files
    return payload, flag


def open_bids(actor: Actor, tender: Tender, codes: Sequence[str]) -> dict[str, Any]:
    """The opening ceremony: k share codes give K back, K the private key, and every current
    bid is opened at once, checked against its receipt and published (flags, not drops)."""
    _require_buyer(actor, tender)
    tender = _lock(tender)
    _require_status(tender, "bidding", message=_l("The bids can be opened once, after bidding."))
    now = _now()
    if now < tender.opening_at or now < tender.bid_deadline_at:
        raise _error(_l("The bids cannot be opened before the opening time."), "codes", status=409)
    shares = _match_codes(tender, codes)
    try:
        private = sealing.unwrap_key(
            bytes(tender.wrapped_private_key or b""),
            sealing.combine_shares(shares),
            context(tender),
        )
    except (sealing.SealError, ValueError):
        raise _error(_l("These share codes do not open the tender's key."), "codes") from None
    bids = db.session.scalars(
        sa.select(Bid)
        .where(Bid.tender_id == tender.id, Bid.status == BidStatus.ACTIVE)
        .order_by(Bid.submitted_at, Bid.id)
    ).all()
    names = _names({b.bidder_id for b in bids})
    entries = []
    for bid in bids:
        payload, flag = _open_one(tender, bid, private)
        if payload is not None:
            bid.price = Decimal(payload["price"]).quantize(Decimal("0.01"))
            bid.proposal_source = payload["proposal"]
            bid.proposal_html = render_markdown(payload["proposal"])
        bid.opening_error = flag
        entries.append(
            {
                "bid_id": bid.id,
                "bidder_id": bid.bidder_id,
                "bidder": names.get(bid.bidder_id, ""),
                "version": bid.version,
                "receipt": bid.receipt,
                "submitted_at": bid.submitted_at.isoformat(),
                "price": str(bid.price) if bid.price is not None else None,
                "above_budget": bool(
                    bid.price is not None
                    and tender.budget_ceiling is not None
                    and bid.price > tender.budget_ceiling
                ),
                "flag": flag,
                "attachments": payload.get("opened_attachments", []) if payload else [],
            }
        )
    del private
    withdrawn = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Bid.bidder_id))).where(
            Bid.tender_id == tender.id,
            Bid.status == BidStatus.WITHDRAWN,
            Bid.bidder_id.not_in([b.bidder_id for b in bids] or [0]),
        )
    )
    record = {
        "opened_at": now.isoformat(),
        "opened_by_id": actor.user.id,
        "by": actor.stakeholder.name,
        "shares_used": sorted(i for i, _ in shares),
        "bids": entries,
        "withdrawn": withdrawn,
        "currency": CURRENCY,
    }
    tender.opened_at, tender.opened_by_id, tender.opening_record = now, actor.user.id, record
    _transition(actor, tender.proposal, "open_bids")
    _record("tender.open", tender, actor, record)
    find_conflicts(tender)
    return record


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(ids))
        ).all()
    )


def opened_bids(tender: Tender) -> list[Bid]:
    """Return the bids that were opened (the current versions at the opening)."""
    if tender.opening_record is None:
        return []
    ids = [e["bid_id"] for e in tender.opening_record["bids"]]
    rows = {
        b.id: b
        for b in db.session.scalars(
            sa.select(Bid).options(sa.orm.joinedload(Bid.bidder)).where(Bid.id.in_(ids or [0]))
        )
    }
    return [rows[i] for i in ids if i in rows]


def is_qualified(bid: Bid) -> bool:
    """An opened bid is evaluated unless it was flagged at opening or disqualified."""
    return bid.price is not None and not bid.opening_error and not bid.disqualified_reason


# -- Conflicts of interest --------------------------------------------------------------------


def _identity_and_orgs(user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Map each user to their own resident identity and the organisations they belong to."""
    ids = list(user_ids)
    rv: dict[int, set[int]] = {u: set() for u in ids}
    for sid, uid in db.session.execute(
        sa.select(Stakeholder.id, Stakeholder.user_id).where(Stakeholder.user_id.in_(ids or [0]))
    ):
        rv[uid].add(sid)
    for uid, org in db.session.execute(
        sa.select(Membership.user_id, Membership.organisation_id).where(
            Membership.user_id.in_(ids or [0]), Membership.status == MembershipStatus.ACTIVE
        )
    ):
        rv[uid].add(org)
    return rv


def conflict_paths(
    user_ids: Iterable[int], bidder_ids: Iterable[int], max_hops: int = 2
) -> dict[tuple[int, int], list[list[dict[str, Any]]]]:
    """Find ties of at most `max_hops` between each user and each bidder.

    A user's nodes are their resident identity and the organisations they belong to. Ties
    are declared relations of the conflict types (membership, affiliation, contract,
    alliance; any status but retracted) and organisation memberships (a member's identity —
    the organisation). Returns {(user_id, bidder_id): [path, …]}, each path a list of
    steps {"source", "target", "type"} with stakeholder ids. This is the one place to swap
    for the network service's `conflict_of_interest` when it exists.
    """
    starts = _identity_and_orgs(user_ids)
    bidders = set(bidder_ids)
    edges: list[tuple[int, int, str, str]] = []
    for s, t, kind in db.session.execute(
        sa.select(Relation.source_id, Relation.target_id, Relation.type).where(
            Relation.type.in_(network.CONFLICT_TYPES), Relation.status != RelationStatus.RETRACTED
        )
    ):
        edges.append((s, t, str(kind), ""))
    members = db.session.execute(
        sa.select(Stakeholder.id, Membership.organisation_id)
        .join(Membership, Membership.user_id == Stakeholder.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
    ).all()
    edges.extend((identity, org, "membership", "") for identity, org in members)
    node_ids = {e[0] for e in edges} | {e[1] for e in edges} | bidders
    node_ids |= {s for nodes in starts.values() for s in nodes}
    kinds = dict(
        db.session.execute(
            sa.select(Stakeholder.id, Stakeholder.kind).where(Stakeholder.id.in_(node_ids or [0]))
        ).all()
    )
    nodes = [(i, str(kinds[i])) for i in node_ids if i in kinds]
    edges = [e for e in edges if e[0] in kinds and e[1] in kinds and e[0] != e[1]]
    rv: dict[tuple[int, int], list[list[dict[str, Any]]]] = {}
    for user_id, own in starts.items():
        for bidder in bidders:
            found: list[list[dict[str, Any]]] = []
            seen: set[tuple] = set()
            if bidder in own:
                found.append([{"source": bidder, "target": bidder, "type": "member"}])
            for start in sorted(own - {bidder}):
                for path in network.conflict_paths(nodes, edges, start, bidder, max_hops=max_hops):
                    inner = [s.target for s in path.steps[:-1]]
                    if any(n in own for n in inner):
                        continue  # found shorter from that node
                    key = tuple((s.source, s.target, s.type) for s in path.steps)
                    if key not in seen:
                        seen.add(key)
                        found.append(
                            [
                                {"source": s.source, "target": s.target, "type": s.type}
                                for s in path.steps
                            ]
                        )
            if found:
                rv[(user_id, bidder)] = found
    return rv


def find_conflicts(tender: Tender) -> list[ConflictDeclaration]:
    """Search the network for ties between each panel member and each opened bidder."""
    seats = panelists(tender)
    bidder_ids = {b.bidder_id for b in opened_bids(tender)}
    found = conflict_paths([s.user_id for s in seats], bidder_ids)
    names = _names(
        {
            n
            for paths in found.values()
            for p in paths
            for s in p
            for n in (s["source"], s["target"])
        }
    )
    rv = []
    for (user_id, bidder_id), paths in sorted(found.items()):
        for path in paths:
            for step in path:
                step["source_name"] = names.get(step["source"], "")
                step["target_name"] = names.get(step["target"], "")
        row = ConflictDeclaration(
            tender_id=tender.id, user_id=user_id, bidder_id=bidder_id, paths=paths
        )
        db.session.add(row)
        rv.append(row)
    db.session.flush()
    return rv


def declarations(tender: Tender, user: User | None = None) -> list[ConflictDeclaration]:
    """Return the flagged pairs of the tender (of one member if `user` is given)."""
    query = sa.select(ConflictDeclaration).where(ConflictDeclaration.tender_id == tender.id)
    if user is not None:
        query = query.where(ConflictDeclaration.user_id == user.id)
    return db.session.scalars(query.order_by(ConflictDeclaration.id)).all()


def declare_conflicts(user: User, tender: Tender, statement: str, *, recuse: bool) -> None:
    """A panel member declares their flagged ties (a statement) and may recuse themself."""
    seat = panelist_for(user, tender)
    if seat is None:
        raise NotAllowed(str(_l("Only members of the evaluation panel declare here.")))
    _require_status(
        tender,
        "opened",
        message=_l("Declarations are made after opening and before the evaluation is complete."),
    )
    if seat.recused_at is not None:
        raise Conflict(str(_l("You have recused yourself from this evaluation.")))
    statement = clean_text(statement or "").strip()
    if not 1 <= len(statement) <= 2000:
        raise _error(_l("Write a statement about these ties (up to 2000 characters)."), "statement")
    rows = declarations(tender, user)
    if not rows and not recuse:
        raise _error(_l("No tie was found for you: there is nothing to declare."), status=409)
    now = _now()
    for row in rows:
        row.statement, row.declared_at, row.recused = statement, now, recuse
    if rows:
        _record(
            "tender.conflict_declare",
            tender,
            None,
            {"bidders": [r.bidder_id for r in rows], "recused": recuse},
            user=user,
        )
    if recuse:
        seat.recused_at = now
        db.session.execute(
            sa.delete(Score).where(Score.tender_id == tender.id, Score.user_id == user.id)
        )
        _record("tender.recuse", tender, None, {"share_index": seat.share_index}, user=user)


# -- Evaluation -------------------------------------------------------------------------------


def _check_can_score(user: User, tender: Tender) -> Panelist:
    seat = panelist_for(user, tender)
    if seat is None:
        raise NotAllowed(str(_l("Only members of the evaluation panel can score bids.")))
    if tender.proposal.status in ("draft", "enquiry", "bidding"):
        raise _error(_l("Bids can be scored only after they are opened."), status=409)
    _require_status(
        tender, "opened", message=_l("The evaluation is complete: scores can no longer change.")
    )
    if seat.recused_at is not None:
        raise NotAllowed(str(_l("You have recused yourself from this evaluation.")))
    if any(d.declared_at is None for d in declarations(tender, user)):
        raise _error(_l("Declare your conflicts of interest before scoring."), status=409)
    return seat


def score_bids(user: User, tender: Tender, entries: dict[tuple[int, str], tuple[Any, str]]) -> int:
    """Record a panel member's 0–100 scores with justifications: {(bid id, criterion): (score,
    justification)}; all entries are checked before any is stored. Return how many."""
    _check_can_score(user, tender)
    bids = {b.id: b for b in opened_bids(tender) if is_qualified(b)}
    keys = {c["key"] for c in quality_criteria(tender)}
    clean: list[tuple[int, str, int, str]] = []
    for (bid_id, criterion), (value, justification) in entries.items():
        if bid_id not in bids or criterion not in keys:
            raise _error(
                _l("Score only the opened, qualified bids on the quality criteria."), "scores"
            )
        try:
            score = int(str(value).strip())
        except (TypeError, ValueError):
            score = -1
        if str(value).strip() != str(score) or not 0 <= score <= 100:
            raise _error(_l("Scores are whole numbers from 0 to 100."), "scores")
        justification = clean_text(justification or "").strip()
        if not 1 <= len(justification) <= 1000:
            raise _error(
                _l("Give a short justification for each score (up to 1000 characters)."), "scores"
            )
        clean.append((bid_id, criterion, score, justification))
    if not clean:
        raise _error(_l("Enter at least one score."), "scores")
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
    _record("tender.score", tender, None, {"scores": len(clean)}, public=False, user=user)
    return len(clean)


def disqualify_bid(actor: Actor, tender: Tender, bid: Bid, reason: str) -> None:
    """The buyer disqualifies an opened bid, with a public reason."""
    _require_buyer(actor, tender)
    _require_status(
        tender, "opened", message=_l("Bids can be disqualified only during the evaluation.")
    )
    if bid.tender_id != tender.id or bid.id not in {b.id for b in opened_bids(tender)}:
        raise _error(_l("This bid was not opened in this tender."), status=404)
    reason = clean_text(reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise _error(_l("Give the reason for the disqualification."), "reason")
    if bid.disqualified_reason:
        raise Conflict(str(_l("This bid is already disqualified.")))
    bid.disqualified_reason = reason
    db.session.execute(sa.delete(Score).where(Score.bid_id == bid.id))
    _record(
        "tender.disqualify",
        tender,
        actor,
        {"bid_id": bid.id, "bidder_id": bid.bidder_id, "reason": reason},
    )


@dataclass
class Ranked:
    """One qualified bid's scores: price points, mean quality points per criterion, total."""

    bid: Bid
    price_points: float
    quality_points: dict[str, float]
    total: float
    rank: int = 0


@dataclass
class Evaluation:
    """The state of a tender's evaluation: who must still score what, ranking, deviations."""

    scorers: list[Panelist]
    ranking: list[Ranked]
    missing: dict[int, int]  # user id -> number of scores still missing
    deviations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    undeclared: int = 0

    @property
    def complete(self) -> bool:
        return (
            bool(self.ranking)
            and bool(self.scorers)
            and not any(self.missing.values())
            and not self.undeclared
        )


def price_points(lowest: Decimal, price: Decimal, weight: int) -> float:
    """Price score: lowest qualified price ÷ this bid's price × the price weight."""
    return float(lowest / price) * weight


def deviations(
    scores: Iterable[tuple[int, int, str, int]], limit: float = DEVIATION_POINTS
) -> dict[int, list[dict[str, Any]]]:
    """Flag scores more than `limit` points from the panel's median score on the same bid and
    criterion: {user id: [{"bid_id", "criterion", "score", "panel_median"}]}.

    The median (not the mean, not standard deviations) because panels are small: with three
    members one outlier pulls the mean and the spread so far that everyone, or no one, would
    be flagged; the median stays with the majority. With two members the median is their
    mean, so both are flagged when they are more than 2 × `limit` apart."""
    by_item: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for user_id, bid_id, criterion, score in scores:
        by_item[(bid_id, criterion)][user_id] = score
    rv: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (bid_id, criterion), marks in sorted(by_item.items()):
        if len(marks) < 2:
            continue
        median = statistics.median(marks.values())
        for user_id, score in sorted(marks.items()):
            if abs(score - median) > limit:
                rv[user_id].append(
                    {
                        "bid_id": bid_id,
                        "criterion": criterion,
                        "score": score,
                        "panel_median": float(median),
                    }
                )
    return dict(rv)


def evaluate(tender: Tender) -> Evaluation:
    """Compute totals and ranking from the scores so far (a fixed number of queries).

    Quality points per criterion = the mean of the scoring members' 0–100 scores × weight
    / 100; price points = lowest qualified price ÷ bid price × price weight; total = sum.
    Ties rank by lower price, then earlier submission.
    """
    seats = panelists(tender)
    scorers = [s for s in seats if s.recused_at is None]
    scorer_ids = {s.user_id for s in scorers}
    bids = [b for b in opened_bids(tender) if is_qualified(b)]
    criteria = quality_criteria(tender)
    rows = db.session.execute(
        sa.select(Score.user_id, Score.bid_id, Score.criterion, Score.score).where(
            Score.tender_id == tender.id
        )
    ).all()
    rows = [r for r in rows if r.user_id in scorer_ids]
    marks: dict[tuple[int, str], list[int]] = defaultdict(list)
    have: dict[int, int] = defaultdict(int)
    for r in rows:
        marks[(r.bid_id, r.criterion)].append(r.score)
        have[r.user_id] += 1
    expected = len(bids) * len(criteria)
    missing = {s.user_id: max(0, expected - have[s.user_id]) for s in scorers}
    ranking = []
    if bids:
        lowest = min(b.price for b in bids)  # type: ignore[type-var]
        weight = price_weight(tender)
        for bid in bids:
            quality = {
                c["key"]: (
                    statistics.fmean(marks[(bid.id, c["key"])]) * c["weight"] / 100
                    if marks[(bid.id, c["key"])]
                    else 0.0
                )
                for c in criteria
            }
            pp = price_points(lowest, bid.price, weight)  # type: ignore[arg-type]
            ranking.append(Ranked(bid, pp, quality, pp + sum(quality.values())))
        ranking.sort(key=lambda r: (-round(r.total, 6), r.bid.price, r.bid.submitted_at))
        for i, r in enumerate(ranking, start=1):
            r.rank = i
    undeclared = db.session.scalar(
        sa.select(sa.func.count()).where(
            ConflictDeclaration.tender_id == tender.id,
            ConflictDeclaration.declared_at.is_(None),
            ConflictDeclaration.user_id.in_(scorer_ids or [0]),
        )
    )
    return Evaluation(scorers, ranking, missing, deviations(rows), undeclared)


def complete_evaluation(actor: Actor, tender: Tender) -> Evaluation:
    """Close the evaluation once every non-recused member scored every qualified bid."""
    _require_buyer(actor, tender)
    _require_status(
        tender, "opened", message=_l("The evaluation can be completed only after opening.")
    )
    result = evaluate(tender)
    if not result.ranking:
        raise _error(
            _l("No qualified bid is left to evaluate; cancel the tender instead."), status=409
        )
    if not result.scorers:
        raise _error(
            _l("Every panel member has recused: the evaluation cannot be completed."), status=409
        )
    if result.undeclared or any(result.missing.values()):
        raise _error(
            _l(
                "The evaluation is not complete: every panel member must declare their "
                "ties and score every qualified bid on every criterion."
            ),
            status=409,
        )
    _transition(actor, tender.proposal, "complete_evaluation")
    _record(
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


# -- Award, challenges, finalisation, contract -----------------------------------------------


def award_tender(actor: Actor, tender: Tender, bid: Bid, justification: str) -> None:
    """Award the tender to a qualified bid with a justification; the standstill period starts.

    During the standstill period the buyer may award again after upholding a challenge."""
    _require_buyer(actor, tender)
    status = tender.proposal.status
    if status == "standstill" and not _upheld_since_award(tender):
        raise _error(_l("The tender is already awarded."), status=409)
    if status not in ("evaluated", "standstill"):
        raise _error(_l("The award can be made only after the evaluation is complete."), status=409)
    if (
        bid.tender_id != tender.id
        or not is_qualified(bid)
        or bid.id not in {b.id for b in opened_bids(tender)}
    ):
        raise _error(_l("Choose one of the qualified bids."), "bid_id")
    justification = clean_text(justification or "").strip()
    if not 1 <= len(justification) <= 5000:
        raise _error(_l("Give the justification of the award."), "justification")
    ranking = {r.bid.id: r.rank for r in evaluate(tender).ranking}
    tender.winner_bid_id = bid.id
    tender.award_justification = justification
    tender.awarded_at = _now()
    if status == "evaluated":
        _transition(actor, tender.proposal, "award")
        _transition(actor, tender.proposal, "start_standstill")
    _record(
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


def can_read_challenge(actor: Actor | None, tender: Tender, challenge: Challenge) -> bool:
    """The thread is for the buyer and the challenging bidder (the outcome is public)."""
    return actor is not None and (
        is_buyer(actor, tender) or actor.stakeholder.id == challenge.bidder_id
    )


def file_challenge(actor: Actor, tender: Tender, text: str) -> Challenge:
    """A bidder whose bid was opened challenges the award during the standstill period."""
    _require_status(
        tender,
        "standstill",
        message=_l("An award can be challenged only during the standstill period."),
    )
    if tender.award_final_at is not None or _now() >= (standstill_ends_at(tender) or _now()):
        raise _error(_l("The standstill period is over."), status=409)
    if actor.stakeholder.id not in {b.bidder_id for b in opened_bids(tender)}:
        raise NotAllowed(str(_l("Only bidders whose bids were opened can challenge the award.")))
    text = clean_text(text or "").strip()
    if not 1 <= len(text) <= 5000:
        raise _error(_l("Explain the challenge (up to 5000 characters)."), "text")
    rv = Challenge(
        tender_id=tender.id,
        bidder_id=actor.stakeholder.id,
        user_id=actor.user.id,
        text=text,
        messages=[],
    )
    db.session.add(rv)
    db.session.flush()
    _record(
        "tender.challenge",
        tender,
        actor,
        {"challenge_id": rv.id, "bidder_id": actor.stakeholder.id},
    )
    return rv


def post_challenge_message(actor: Actor, tender: Tender, challenge: Challenge, text: str) -> None:
    """Write in a challenge's thread (the buyer or the challenger, while it is open)."""
    if challenge.tender_id != tender.id or not can_read_challenge(actor, tender, challenge):
        raise NotAllowed(str(_l("Only the buyer and the challenger write in this thread.")))
    if challenge.outcome != "open":
        raise Conflict(str(_l("This challenge has been decided.")))
    text = clean_text(text or "").strip()
    if not 1 <= len(text) <= 5000:
        raise _error(_l("Write a message of up to 5000 characters."), "text")
    by = "buyer" if is_buyer(actor, tender) else "bidder"
    challenge.messages = [
        *challenge.messages,
        {"by": by, "user_id": actor.user.id, "text": text, "at": _now().isoformat()},
    ]
    _record("tender.challenge_message", tender, actor, {"challenge_id": challenge.id}, public=False)


def decide_challenge(
    actor: Actor, tender: Tender, challenge: Challenge, outcome: str, reason: str
) -> None:
    """The buyer upholds or dismisses a challenge with a public reason."""
    _require_buyer(actor, tender)
    if challenge.tender_id != tender.id:
        raise _error(_l("This challenge belongs to another tender."), status=404)
    if challenge.outcome != "open":
        raise Conflict(str(_l("This challenge has been decided.")))
    if outcome not in ("upheld", "dismissed"):
        raise _error(_l("Uphold or dismiss the challenge."), "outcome")
    reason = clean_text(reason or "").strip()
    if not 1 <= len(reason) <= 5000:
        raise _error(_l("Give the reason for the decision."), "reason")
    challenge.outcome, challenge.outcome_reason, challenge.decided_at = outcome, reason, _now()
    _record(
        "tender.challenge_decide",
        tender,
        actor,
        {"challenge_id": challenge.id, "outcome": outcome, "reason": reason},
    )


def finalize_award(tender: Tender) -> bool:
    """Make the award final once the standstill period is over with no challenge pending."""
    end = standstill_ends_at(tender)
    if (
        tender.proposal.status != "standstill"
        or tender.award_final_at is not None
        or end is None
        or _now() < end
    ):
        return False
    blocking = db.session.scalar(
        sa.select(sa.func.count()).where(
            Challenge.tender_id == tender.id, Challenge.outcome == "open"
        )
    )
    if blocking or _upheld_since_award(tender):
        return False
    tender.award_final_at = _now()
    _record("tender.award_final", tender, None, {"bid_id": tender.winner_bid_id})
    return True


def finalize_due() -> int:
    """Open bidding and finalise awards whose time has come (the CLI and schedulers)."""
    rv = 0
    rows = db.session.scalars(
        sa.select(Tender)
        .join(Proposal, Proposal.id == Tender.proposal_id)
        .where(Proposal.status.in_(("enquiry", "standstill")))
    ).all()
    for tender in rows:
        rv += refresh(tender)
    return rv


def sign_contract(
    actor: Actor, tender: Tender, milestones: Sequence[tuple[str, datetime]]
) -> list[Milestone]:
    """Sign the contract once the award is final: implementation starts with milestones."""
    _require_buyer(actor, tender)
    _require_status(tender, "standstill", message=_l("The contract is signed after the award."))
    finalize_award(tender)
    if tender.award_final_at is None:
        raise _error(
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
            raise _error(
                _l("Each milestone needs a title (up to 120 characters) and a due date."),
                "milestones",
            )
        rows.append(Milestone(proposal_id=tender.proposal_id, title=title, due_on=due))
    if not rows:
        raise _error(_l("Add at least one milestone."), "milestones")
    db.session.add_all(rows)
    db.session.flush()
    _transition(actor, tender.proposal, "sign_contract")
    _record(
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
