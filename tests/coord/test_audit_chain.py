"""The pure audit chain: hashing, signed checkpoints and verification on plain values."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coord import audit_chain as chain

KEY = Ed25519PrivateKey.generate()
KEYS = {chain.key_id(KEY.public_key()): KEY.public_key()}
STAMP = "2026-11-27T10:00:00.000000+00:00"


def _links(n: int, *, rewrite: int | None = None) -> list[chain.Link]:
    """A chain of n events; `rewrite` changes that event's content and rehashes the rest."""
    rv, prev = [], chain.GENESIS
    for i in range(1, n + 1):
        digest = hashlib.sha256(f"event {i}{'!' if i == rewrite else ''}".encode()).hexdigest()
        rv.append(chain.Link(i, prev, chain.link_hash(prev, digest), digest))
        prev = rv[-1].hash
    return rv


def _checkpoints(links: list[chain.Link], *positions: int, key=KEY) -> list[chain.Checkpoint]:
    rv, covered = [], 0
    for position in positions:
        hashes = [link.hash for link in links[covered:position]]
        rv.append(chain.sign_checkpoint(key, position, hashes, STAMP))
        covered = position
    return rv


def test_hashes_match_known_answers():
    fields = {"id": 1, "action": "x", "data": {"名": "兰苑"}}
    literal = '{"action":"x","data":{"名":"兰苑"},"id":1}'
    assert chain.canonical_json(fields) == literal
    digest = chain.content_digest(fields)
    assert digest == hashlib.sha256(literal.encode()).hexdigest()
    assert chain.link_hash(chain.GENESIS, digest) == (
        hashlib.sha256(("0" * 64 + digest).encode()).hexdigest()
    )


def test_event_fields_are_the_hashed_columns():
    event = SimpleNamespace(
        **dict.fromkeys(chain.FIELDS)
        | {"created_at": datetime(2026, 11, 27, 2, 3, 4, tzinfo=UTC), "is_public": 1}
    )
    fields = chain.event_fields(event)
    assert list(fields) == list(chain.FIELDS)
    assert fields["created_at"] == "2026-11-27T02:03:04.000000+00:00"
    assert fields["is_public"] is True and fields["data"] == {}


def test_an_untouched_chain_with_checkpoints_verifies():
    links = _links(7)
    report = chain.verify(links, _checkpoints(links, 3, 5), KEYS)
    assert report.broken is None
    assert (report.events, report.head_id, report.head_hash) == (7, 7, links[-1].hash)
    assert (report.checkpoints, report.covered, report.uncovered) == (2, 5, 2)
    assert chain.describe(report)[2] == (
        "Not yet covered: 2 event(s) after the last signed checkpoint (#6–#7)"
    )


def test_a_rewritten_and_rehashed_event_is_named():
    good = _links(7)
    checkpoints = _checkpoints(good, 3, 6)
    forged = _links(7, rewrite=5)
    assert chain.verify(forged, [], KEYS).broken is None  # internally consistent
    report = chain.verify(forged, checkpoints, KEYS)
    assert report.broken == chain.Break(5, "differs from the signed checkpoint at #6 (rewritten)")
    assert report.checkpoints == 1


def test_a_truncated_tail_behind_a_checkpoint_is_named():
    links = _links(7)
    report = chain.verify(links[:4], _checkpoints(links, 3, 6), KEYS)
    assert report.broken is not None and report.broken.event_id == 5
    assert "truncated" in report.broken.reason


def test_a_published_head_catches_a_rewrite_after_the_last_checkpoint():
    good, forged = _links(7), _links(7, rewrite=7)
    assert chain.verify(forged, [], KEYS, {7: good[6].hash}).broken.event_id == 7
    assert chain.verify(forged[:5], [], KEYS, {6: good[5].hash}).broken.event_id == 6


def test_checkpoints_signed_otherwise_fail():
    links = _links(4)
    other = Ed25519PrivateKey.generate()
    forged = _checkpoints(links, 4, key=other)
    report = chain.verify(links, forged, KEYS)
    assert report.broken.event_id == 4 and "unknown key" in report.broken.reason
    # The right key id, but another key's signature (or a changed statement): forged.
    genuine = _checkpoints(links, 4)[0]
    for bad in (
        chain.Checkpoint(**{**genuine.__dict__, "signature": forged[0].signature}),
        chain.Checkpoint(**{**genuine.__dict__, "created_at": "2030-01-01T00:00:00+00:00"}),
    ):
        assert "invalid" in chain.verify(links, [bad], KEYS).broken.reason


def test_a_missing_checkpoint_in_the_middle_is_a_break():
    links = _links(6)
    report = chain.verify(links, _checkpoints(links, 2, 4, 6)[::2], KEYS)
    assert report.broken == chain.Break(
        3, "is not covered: the signed checkpoints before the one at #6 are missing"
    )


def _replace_third(**changes):
    return lambda ls: [*ls[:2], chain.Link(**{**ls[2].__dict__, **changes}), *ls[3:]]


@pytest.mark.parametrize(
    ("change", "named", "reason"),
    [
        (lambda ls: ls[:2] + ls[3:], 3, "is missing (the next event is #4)"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2, "is missing (the next event is #3)"),
        (lambda ls: [*ls[:3], ls[1], *ls[3:]], 2, "is out of order or repeated"),
        (_replace_third(prev_hash="f" * 64), 3, "does not link to the previous event"),
        (_replace_third(digest="e" * 64), 3, "content does not match its hash"),
    ],
)
def test_links_are_checked(change, named, reason):
    assert chain.verify(change(_links(5)), [], KEYS).broken == chain.Break(named, reason)


def test_keys_read_from_base64_and_pem():
    raw = base64.b64encode(KEY.private_bytes_raw()).decode()
    assert chain.key_id(chain.load_private_key(raw).public_key()) in KEYS
    other = Ed25519PrivateKey.generate().public_key()
    pem = chain.public_pem(KEY.public_key()) + chain.public_pem(other)
    assert [chain.key_id(k) for k in chain.load_public_keys(pem)] == [
        chain.key_id(KEY.public_key()),
        chain.key_id(other),
    ]
    b64 = base64.b64encode(other.public_bytes_raw()).decode()
    assert chain.load_public_keys(f" {b64} ,")[0].public_bytes_raw() == other.public_bytes_raw()
    assert chain.key_id(other) == hashlib.sha256(other.public_bytes_raw()).hexdigest()[:16]
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            chain.load_private_key(bad)
        with pytest.raises(ValueError):
            chain.load_public_keys(bad)


def test_the_export_shows_private_events_as_hashes_only():
    fields = {name: None for name in chain.FIELDS} | {"id": 1, "is_public": False, "data": {}}
    record = chain.export_record(fields, chain.GENESIS, "a" * 64)
    assert set(record) == {"type", "id", "prev_hash", "hash", "content_digest"}
    link = chain.link_from_record(json.loads(json.dumps(record)))
    assert link == chain.Link(1, chain.GENESIS, "a" * 64, chain.content_digest(fields))
    public = chain.export_record(fields | {"is_public": True}, chain.GENESIS, "a" * 64)
    assert public["fields"]["is_public"] is True
    tampered = {**public, "fields": {**public["fields"], "action": "forged"}}
    assert chain.link_from_record(tampered).digest != public["content_digest"]
    cp = _checkpoints(_links(2), 2)[0]
    assert chain.checkpoint_from_record(json.loads(json.dumps(cp.as_record()))) == cp
