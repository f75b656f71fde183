"""Sealed secret ballots: AES-256-GCM under a per-poll key, padded to one size (pure).

Pure module: stdlib and ``cryptography`` only. While a secret poll is open, each ballot's
content — its choice, its elector kind and its receipt code — is stored only in this sealed
form, so that a copy of the database (which also tells who voted, and in which order or
transaction) links no voter to a choice without the key. The threat model is written up in
``docs/voting.md``.

Format: ``b"CVB1" ‖ nonce (12) ‖ AES-256-GCM(frame) + tag (16)``, the associated data
naming the poll (a sealed ballot cannot be moved to another poll). The frame is the
payload's canonical JSON prefixed by its length (4 bytes, big-endian) and padded with zero
bytes to :func:`frame_size`, the same for every ballot of a poll: the sealed size tells
nothing about the choice (a "yes" is as long as an "abstain").
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CVB1"
NONCE_BYTES = 12
KEY_BYTES = 32
BLOCK = 64
#: Larger than any score the tally engine accepts: the frame bound holds for every method.
_SCORE_BOUND = 10**9
_KIND_BOUND = "k" * 24  # `Ballot.kind` is a String(24)
_RECEIPT_BOUND = "0" * 64  # a SHA-256 hex digest


class SealError(ValueError):
    """A sealed ballot could not be opened: wrong key, wrong poll or tampered."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def frame_size(options: Iterable[str]) -> int:
    """Return the padded frame size of a poll's ballots: room for the longest valid one.

    The longest ballot of any method is at most a mapping of every option to a score, so
    the frame holds that, the kind and the receipt code, rounded up to a 64-byte block.
    """
    largest = {
        "choice": dict.fromkeys(options, _SCORE_BOUND),
        "kind": _KIND_BOUND,
        "receipt": _RECEIPT_BOUND,
    }
    needed = 4 + len(_canonical(largest))
    return -(-needed // BLOCK) * BLOCK


def _aad(poll_id: int) -> bytes:
    return b"coord secret ballot v1|poll:%d" % poll_id


def seal(key: bytes, poll_id: int, payload: dict[str, Any], size: int) -> bytes:
    """Encrypt `payload` for poll `poll_id`, padded to `size` bytes before encryption."""
    if len(key) != KEY_BYTES:
        raise ValueError("a ballot key has 32 bytes")
    body = _canonical(payload)
    frame = struct.pack(">I", len(body)) + body
    if len(frame) > size:
        raise ValueError("the ballot is larger than the poll's frame size")
    nonce = os.urandom(NONCE_BYTES)
    padded = frame + bytes(size - len(frame))
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, padded, _aad(poll_id))


def unseal(keys: Iterable[bytes], poll_id: int, token: bytes) -> dict[str, Any]:
    """Decrypt a sealed ballot of poll `poll_id` with the first of `keys` that opens it."""
    token = bytes(token)
    if not token.startswith(MAGIC) or len(token) < len(MAGIC) + NONCE_BYTES + 16 + 4:
        raise SealError("not a sealed ballot")
    nonce = token[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    for key in keys:
        try:
            frame = AESGCM(key).decrypt(nonce, token[len(MAGIC) + NONCE_BYTES :], _aad(poll_id))
        except InvalidTag:
            continue
        (length,) = struct.unpack(">I", frame[:4])
        return json.loads(frame[4 : 4 + length].decode())
    raise SealError("no configured key opens this sealed ballot")
