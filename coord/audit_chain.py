"""The audit chain's hashing, signed checkpoints and verification, on plain values.

Pure (stdlib and `cryptography` only): the app (`coord.audit`) and the standalone verifier
(`coord.audit_verify`) share it, so both compute exactly the same thing.

An event's hash is ``sha256(prev_hash + content_digest)`` with ``content_digest`` the
SHA-256 of the canonical JSON of its fields (a random salt among them). Anyone holding only
ids, hashes and digests can check the links and the signed checkpoints; the fields, needed
to check a digest, are published for public events only. A checkpoint is an Ed25519
signature over (position, head hash, the 16-hex fingerprints of the events since the
previous checkpoint, time, key id). See docs/audit.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
#: Hex characters of an event hash kept in a checkpoint, per event covered.
FINGERPRINT_LEN = 16
FIELDS = (
    "id",
    "created_at",
    "user_id",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "community_id",
    "is_public",
    "data",
    "salt",
)
EXPORT_FORMAT = "coord-audit/1"
_CHECKPOINT_TAG = b"coord-audit-checkpoint/1\n"
_PEM_END = "-----END PUBLIC KEY-----"


def canonical_json(value: Any) -> str:
    """Serialise `value` deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def event_fields(event: Any) -> dict[str, Any]:
    """Return the hashed fields of an event (any object with the columns as attributes)."""
    rv = {name: getattr(event, name) for name in FIELDS}
    rv["created_at"] = event.created_at.isoformat(timespec="microseconds")
    rv["is_public"] = bool(event.is_public)
    rv["data"] = event.data or {}
    return rv


def content_digest(fields: Mapping[str, Any]) -> str:
    """Return the SHA-256 of an event's canonical fields."""
    return _sha256(canonical_json(dict(fields)))


def link_hash(prev_hash: str, digest: str) -> str:
    """Return the chain hash of an event from its predecessor's hash and its content digest."""
    return _sha256(prev_hash + digest)


@dataclass(frozen=True)
class Link:
    """What checking one event's place in the chain needs (no personal data)."""

    id: int
    prev_hash: str
    hash: str
    digest: str


def link_problem(prev_id: int, prev_hash: str, link: Link) -> tuple[int, str] | None:
    """Check `link` follows (prev_id, prev_hash); return (event id, reason) when it does not."""
    if link.id > prev_id + 1:
        return prev_id + 1, f"is missing (the next event is #{link.id})"
    if link.id <= prev_id:
        return link.id, "is out of order or repeated"
    if link.prev_hash != prev_hash:
        return link.id, "does not link to the previous event"
    if link_hash(link.prev_hash, link.digest) != link.hash:
        return link.id, "content does not match its hash"
    return None


# -- Keys -------------------------------------------------------------------------------------


def load_private_key(text: str) -> Ed25519PrivateKey:
    """Read an Ed25519 private key: base64 of the raw 32 bytes, or PEM (PKCS#8)."""
    text = text.strip()
    if not text.startswith("-----BEGIN"):
        return Ed25519PrivateKey.from_private_bytes(_raw_key(text))
    try:
        rv = serialization.load_pem_private_key(text.encode(), password=None)
    except (TypeError, UnsupportedAlgorithm):
        rv = None
    if not isinstance(rv, Ed25519PrivateKey):
        raise ValueError("not an unencrypted Ed25519 private key")
    return rv


def load_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Read Ed25519 public keys: PEM blocks, or base64 raw 32-byte keys separated by commas."""
    if "-----BEGIN" in text:
        blocks = [b + _PEM_END for b in text.split(_PEM_END) if "-----BEGIN" in b]
        try:
            keys = [serialization.load_pem_public_key(b.strip().encode()) for b in blocks]
        except UnsupportedAlgorithm:
            keys = []
        if not keys or not all(isinstance(k, Ed25519PublicKey) for k in keys):
            raise ValueError("not an Ed25519 public key")
        return keys  # type: ignore[return-value]
    return [
        Ed25519PublicKey.from_public_bytes(_raw_key(part))
        for part in text.split(",")
        if part.strip()
    ]


def _raw_key(text: str) -> bytes:
    try:
        rv = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if len(rv) != 32:
        raise ValueError("an Ed25519 key has 32 bytes")
    return rv


def new_private_key() -> str:
    """Generate an Ed25519 private key as base64 of its raw 32 bytes."""
    return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """Return a public key's fingerprint: the first 16 hex of the SHA-256 of its raw bytes."""
    return hashlib.sha256(key.public_bytes_raw()).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey) -> str:
    """Return a public key as PEM (SubjectPublicKeyInfo)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# -- Checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain up to `position` ends in `head_hash`."""

    position: int
    head_hash: str
    fingerprints: str
    created_at: str
    key_id: str
    signature: str

    @property
    def first(self) -> int:
        """Return the first event whose fingerprint this checkpoint holds."""
        return self.position - len(self.fingerprints) // FINGERPRINT_LEN + 1

    def fingerprint_at(self, event_id: int) -> str:
        """Return the signed fingerprint of event `event_id` (within first..position)."""
        start = (event_id - self.first) * FINGERPRINT_LEN
        return self.fingerprints[start : start + FINGERPRINT_LEN]

    def message(self) -> bytes:
        """Return the bytes the signature covers."""
        signed = {
            "position": self.position,
            "head_hash": self.head_hash,
            "fingerprints": self.fingerprints,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }
        return _CHECKPOINT_TAG + canonical_json(signed).encode()

    def as_record(self) -> dict[str, Any]:
        """Return the checkpoint as a line of the public export."""
        return {"type": "checkpoint", **{k: getattr(self, k) for k in _CHECKPOINT_KEYS}}


_CHECKPOINT_KEYS = ("position", "head_hash", "fingerprints", "created_at", "key_id", "signature")


def fingerprint(event_hash: str) -> str:
    """Return the part of an event's hash that a checkpoint keeps."""
    return event_hash[:FINGERPRINT_LEN]


def sign_checkpoint(
    key: Ed25519PrivateKey, position: int, hashes: list[str], created_at: str
) -> Checkpoint:
    """Sign the chain at `position`; `hashes` are those of the events it newly covers."""
    unsigned = Checkpoint(
        position=position,
        head_hash=hashes[-1],
        fingerprints="".join(fingerprint(h) for h in hashes),
        created_at=created_at,
        key_id=key_id(key.public_key()),
        signature="",
    )
    return replace(unsigned, signature=key.sign(unsigned.message()).hex())


def checkpoint_problem(
    checkpoint: Checkpoint, keys: Mapping[str, Ed25519PublicKey], covered: int
) -> tuple[int, str] | None:
    """Check a checkpoint following one at `covered`; return (event id, reason) if it fails."""
    cp = checkpoint
    if cp.first > covered + 1:
        return covered + 1, (
            f"is not covered: the signed checkpoints before the one at #{cp.position} are missing"
        )
    if (
        cp.first != covered + 1
        or len(cp.fingerprints) % FINGERPRINT_LEN
        or cp.position < cp.first
        or fingerprint(cp.head_hash) != cp.fingerprint_at(cp.position)
    ):
        return cp.position, "is claimed by a malformed or overlapping checkpoint"
    key = keys.get(cp.key_id)
    if key is None:
        return cp.position, f"is claimed by a checkpoint signed with an unknown key {cp.key_id}"
    try:
        key.verify(bytes.fromhex(cp.signature), cp.message())
    except (InvalidSignature, ValueError):
        return cp.position, "is claimed by a checkpoint whose signature is invalid (forged)"
    return None


# -- Verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first event that no longer matches, and why."""

    event_id: int
    reason: str


@dataclass
class Report:
    """The outcome of a verification: how far it got, what it covered, the first break."""

    events: int = 0
    head_id: int = 0
    head_hash: str = GENESIS
    checkpoints: int = 0
    latest: Checkpoint | None = None
    broken: Break | None = None

    @property
    def covered(self) -> int:
        """Return the position of the last checkpoint verified (0 when none)."""
        return self.latest.position if self.latest else 0

    @property
    def uncovered(self) -> int:
        """Return how many events come after the last verified checkpoint."""
        return self.head_id - self.covered


class _Verifier:
    def __init__(
        self,
        checkpoints: Iterable[Checkpoint],
        keys: Mapping[str, Ed25519PublicKey],
        anchors: Mapping[int, str],
    ) -> None:
        self.pending: Iterator[Checkpoint] = iter(checkpoints)
        self.keys = keys
        self.anchors = anchors
        self.report = Report()
        self.current: Checkpoint | None = None

    def take_checkpoint(self) -> tuple[int, str] | None:
        self.current = next(self.pending, None)
        if self.current is None:
            return None
        return checkpoint_problem(self.current, self.keys, self.report.covered)

    def step(self, link: Link) -> tuple[int, str] | None:
        r = self.report
        problem = link_problem(r.head_id, r.head_hash, link)
        if problem:
            return problem
        r.events, r.head_id, r.head_hash = r.events + 1, link.id, link.hash
        if self.anchors.get(link.id, link.hash) != link.hash:
            return link.id, "differs from the published head hash given"
        cp = self.current
        if cp is None:
            return None
        if cp.fingerprint_at(link.id) != fingerprint(link.hash) or (
            link.id == cp.position and link.hash != cp.head_hash
        ):
            return link.id, f"differs from the signed checkpoint at #{cp.position} (rewritten)"
        if link.id < cp.position:
            return None
        r.checkpoints, r.latest = r.checkpoints + 1, cp
        return self.take_checkpoint()

    def finish(self) -> tuple[int, str] | None:
        r = self.report
        end = max([self.current.position if self.current else 0, *self.anchors])
        if end > r.head_id:
            return r.head_id + 1, f"is missing: signed or published up to #{end} (truncated)"
        return None


def verify(
    links: Iterable[Link],
    checkpoints: Iterable[Checkpoint],
    keys: Mapping[str, Ed25519PublicKey],
    anchors: Mapping[int, str] | None = None,
) -> Report:
    """Check the chain and its checkpoints (in position order, consumed as the events go).

    `anchors` are hashes published outside the system ({position: hash}), trusted like
    checkpoints. The report names the first event that no longer matches, if any.
    """
    verifier = _Verifier(checkpoints, keys, anchors or {})
    problem = verifier.take_checkpoint()
    for link in links:
        if problem:
            break
        problem = verifier.step(link)
    problem = problem or verifier.finish()
    if problem:
        verifier.report.broken = Break(*problem)
    return verifier.report


def describe(report: Report) -> list[str]:
    """Return the lines that tell a verification's outcome (English, for the terminal)."""
    if report.broken:
        b = report.broken
        return [f"BROKEN at event #{b.event_id}: {b.reason} ({report.events} events checked)"]
    rv = [f"OK: {report.events} events, head #{report.head_id} {report.head_hash}"]
    if report.latest:
        cp = report.latest
        rv.append(
            f"Checkpoints: {report.checkpoints} valid, the latest at #{cp.position} "
            f"signed {cp.created_at} by key {cp.key_id}"
        )
    else:
        rv.append("Checkpoints: none yet")
    if report.uncovered:
        rv.append(
            f"Not yet covered: {report.uncovered} event(s) after the last signed checkpoint "
            f"(#{report.covered + 1}–#{report.head_id})"
        )
    return rv


# -- The public export ------------------------------------------------------------------------


def export_record(fields: Mapping[str, Any], prev_hash: str, event_hash: str) -> dict[str, Any]:
    """Return an event as a line of the public export: fields only when it is public."""
    rv = {
        "type": "event",
        "id": fields["id"],
        "prev_hash": prev_hash,
        "hash": event_hash,
        "content_digest": content_digest(fields),
    }
    if fields["is_public"]:
        rv["fields"] = dict(fields)
    return rv


def link_from_record(record: Mapping[str, Any]) -> Link:
    """Read an exported event; a public one's digest is recomputed from its fields."""
    fields = record.get("fields")
    digest = record["content_digest"] if fields is None else content_digest(fields)
    return Link(int(record["id"]), str(record["prev_hash"]), str(record["hash"]), str(digest))


def checkpoint_from_record(record: Mapping[str, Any]) -> Checkpoint:
    """Read an exported checkpoint."""
    return Checkpoint(**{k: (int if k == "position" else str)(record[k]) for k in _CHECKPOINT_KEYS})
