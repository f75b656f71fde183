"""Sealed bids and their opening: submit, replace and withdraw sealed bids, then open them
all at once with k share codes at the opening ceremony.

Never log, flash, audit or store in clear a bid's price or text before opening.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from coord import uploads
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.text import clean_text, render_markdown
from proposals.models import Attachment
from proposals.tenders import clock, conflicts, sealing
from proposals.tenders.models import Bid, BidStatus, Tender
from proposals.tenders.services import (
    CURRENCY,
    check_can_bid,
    context,
    lock,
    money,
    panelists,
    record_event,
    refusal,
    require_buyer,
    require_status,
    settle_bidding,
    stakeholder_names,
    transition,
)
from stakeholders.acting import Actor

MAX_ATTACHMENTS = 5
BID_PAD = 1024  # sealed bid payloads are padded to a multiple of this many bytes
ATTACHMENT_PAD = 64 * 1024

#: Why a sealed bid was flagged at opening (codes are stored; labels are shown).
FLAGS = {
    "receipt_mismatch": _l("The sealed bid does not match its receipt."),
    "cannot_open": _l("The sealed bid could not be decrypted (damaged or tampered with)."),
    "bad_content": _l("The decrypted bid does not belong to this bidder and version."),
    "attachment_mismatch": _l("An attachment is missing or does not match the sealed bid."),
}


def _bid_context(tender_id: int, bidder_id: int, version: int) -> bytes:
    return f"coord-bid:tender={tender_id}:bidder={bidder_id}:version={version}".encode()


def _attachment_context(tender_id: int, bidder_id: int, version: int, n: int) -> bytes:
    return _bid_context(tender_id, bidder_id, version) + f":attachment={n}".encode()


@dataclass(frozen=True)
class Upload:
    """A file sent with a bid, before any check."""

    filename: str
    data: bytes


def max_attachment_bytes() -> int:
    """Return the largest attachment a bid may carry, in bytes (`TENDER_MAX_ATTACHMENT_BYTES`)."""
    return int(current_app.config.get("TENDER_MAX_ATTACHMENT_BYTES", uploads.DEFAULT_MAX_BYTES))


def _check_open_for_bids(tender: Tender) -> None:
    if tender.proposal.status in ("draft", "enquiry"):
        raise refusal(_l("Bidding has not opened yet."), status=409)
    if tender.proposal.status != "bidding" or clock.now() >= tender.bid_deadline_at:
        raise refusal(
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
    tender = lock(tender)
    settle_bidding(tender)
    _check_open_for_bids(tender)
    check_can_bid(actor.stakeholder, tender)
    amount = money(
        price, "price", message=_l("The price must be a positive amount with at most two decimals.")
    )
    text = _check_proposal(tender, proposal_text, conditions_confirmed)
    checked = _check_files(files)
    bidder_id = actor.stakeholder.id
    version = _next_version(tender, bidder_id)
    public = bytes(tender.public_key or b"")
    sealed_files = _seal_attachments(actor, tender, version, checked)
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
    bid = _store_bid(actor, tender, version, sealed)
    record_event(
        "tender.bid_submit",
        tender,
        actor,
        {"bid_id": bid.id, "version": version, "receipt": bid.receipt, "attachments": len(checked)},
        public=False,
    )
    return bid


def _check_proposal(tender: Tender, proposal_text: str, conditions_confirmed: bool) -> str:
    text = clean_text(proposal_text or "").strip()
    if not 1 <= len(text) <= 50_000:
        raise refusal(_l("Write the technical proposal (up to 50,000 characters)."), "proposal")
    if tender.conditions and not conditions_confirmed:
        raise refusal(_l("Confirm that you meet the further conditions."), "conditions_confirmed")
    return text


def _check_files(files: Sequence[Upload]) -> list[uploads.CheckedFile]:
    files = [f for f in files if f.data or f.filename]
    if len(files) > MAX_ATTACHMENTS:
        raise refusal(_l("Attach at most %(n)d files.", n=MAX_ATTACHMENTS), "attachments")
    return [
        uploads.check_upload(
            f.filename, f.data, allowed=frozenset({uploads.PDF}), max_bytes=max_attachment_bytes()
        )
        for f in files
    ]


def _next_version(tender: Tender, bidder_id: int) -> int:
    return 1 + (
        db.session.scalar(
            sa.select(sa.func.max(Bid.version)).where(
                Bid.tender_id == tender.id, Bid.bidder_id == bidder_id
            )
        )
        or 0
    )


def _seal_attachments(
    actor: Actor, tender: Tender, version: int, checked: Sequence[uploads.CheckedFile]
) -> list[tuple[Attachment, uploads.CheckedFile]]:
    """Store each file sealed to the tender's key; return the rows with what they hold."""
    rv = []
    for n, item in enumerate(checked, start=1):
        ciphertext = sealing.seal(
            bytes(tender.public_key or b""),
            item.data,
            _attachment_context(tender.id, actor.stakeholder.id, version, n),
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
        rv.append((row, item))
    db.session.flush()
    return rv


def _store_bid(actor: Actor, tender: Tender, version: int, sealed: bytes) -> Bid:
    """Store the sealed version as the bidder's current bid, replacing the earlier one."""
    previous = active_bid(tender, actor.stakeholder.id)
    if previous is not None:
        previous.status = BidStatus.REPLACED
    rv = Bid(
        tender_id=tender.id,
        bidder_id=actor.stakeholder.id,
        version=version,
        sealed=sealed,
        receipt=sealing.receipt(sealed),
        submitted_by_id=actor.user.id,
        submitted_at=clock.now(),
    )
    db.session.add(rv)
    db.session.flush()
    return rv


def withdraw_bid(actor: Actor, tender: Tender, bid: Bid) -> None:
    """Withdraw one's own current bid before the deadline (the sealed versions are kept)."""
    tender = lock(tender)
    settle_bidding(tender)
    if bid.tender_id != tender.id or bid.bidder_id != actor.stakeholder.id:
        raise NotAllowed(str(_l("You can withdraw only your own bid.")))
    _check_open_for_bids(tender)
    if bid.status != BidStatus.ACTIVE:
        raise Conflict(str(_l("Only the current version of a bid can be withdrawn.")))
    bid.status = BidStatus.WITHDRAWN
    record_event(
        "tender.bid_withdraw",
        tender,
        actor,
        {"bid_id": bid.id, "receipt": bid.receipt},
        public=False,
    )


# -- Opening ----------------------------------------------------------------------------------


class CodesRefused(DomainError):
    """Share codes that do not open a tender; `reason` is recorded, never the codes."""

    def __init__(self, reason: str, message: Any, code_number: int | None = None) -> None:
        super().__init__(str(message), field="codes")
        self.reason = reason
        self.code_number = code_number


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
            raise CodesRefused(
                "typing_error", _l("Share code %(n)d has a typing error: check it.", n=n), n
            ) from None
        seat = seats.get(sealing.share_digest(context(tender), index, value))
        if seat is None:
            raise CodesRefused(
                "not_a_share", _l("Share code %(n)d is not a share of this tender.", n=n), n
            )
        if index in used:
            raise CodesRefused("repeated", _l("Share code %(n)d was entered twice.", n=n), n)
        used.add(index)
        rv.append((index, value))
    if len(rv) < tender.shares_needed:
        raise CodesRefused(
            "too_few",
            _l("Enter the share codes of at least %(k)d panel members.", k=tender.shares_needed),
        )
    return rv


def _unlock(tender: Tender, codes: Sequence[str]) -> tuple[list[tuple[int, bytes]], bytes]:
    """Return the shares matched and the tender's private key, or raise CodesRefused."""
    shares = _match_codes(tender, codes)
    try:
        private = sealing.unwrap_key(
            bytes(tender.wrapped_private_key or b""),
            sealing.combine_shares(shares),
            context(tender),
        )
    except (sealing.SealError, ValueError):
        raise CodesRefused(
            "wrong_key", _l("These share codes do not open the tender's key.")
        ) from None
    return shares, private


def record_failed_opening(
    actor: Actor, tender: Tender, codes: Sequence[str], refused: CodesRefused
) -> None:
    """Keep a public trace of an opening attempt that failed, whatever the request does next.

    Rolls the attempt back first (nothing of it survives), then appends the audit event and
    commits it. Records how many codes were entered and why they failed, never a code.
    """
    db.session.rollback()
    data: dict[str, Any] = {
        "reason": refused.reason,
        "codes_entered": sum(1 for code in codes if (code or "").strip()),
    }
    if refused.code_number is not None:
        data["code_number"] = refused.code_number
    record_event("tender.open_failed", tender, actor, data)
    db.session.commit()


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
    require_buyer(actor, tender)
    tender = lock(tender)
    settle_bidding(tender)
    require_status(tender, "bidding", message=_l("The bids can be opened once, after bidding."))
    now = clock.now()
    if now < tender.opening_at or now < tender.bid_deadline_at:
        raise refusal(_l("The bids cannot be opened before the opening time."), "codes", status=409)
    try:
        shares, private = _unlock(tender, codes)
    except CodesRefused as exc:
        record_failed_opening(actor, tender, codes, exc)
        raise
    bids = db.session.scalars(
        sa.select(Bid)
        .where(Bid.tender_id == tender.id, Bid.status == BidStatus.ACTIVE)
        .order_by(Bid.submitted_at, Bid.id)
    ).all()
    names = stakeholder_names({b.bidder_id for b in bids})
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
    transition(actor, tender.proposal, "open_bids")
    record_event("tender.open", tender, actor, record)
    conflicts.find_conflicts(tender, {b.bidder_id for b in bids})
    return record


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
