"""Sealed bids: hybrid encryption, threshold key sharing and typable share codes (pure).

Pure module: stdlib and ``cryptography`` only (no flask, no sqlalchemy, nothing from
``coord``). The design and its threat model are written up in ``docs/tenders.md``.

Key pair
    Each tender gets an X25519 key pair (:func:`generate_keypair`). Bids are sealed to
    the public key; the private key is never stored in clear.

Sealing (:func:`seal` / :func:`unseal`)
    ECIES-style: an ephemeral X25519 key agrees a secret with the tender's public key;
    HKDF-SHA256 (salt = ephemeral public key ‖ tender public key) turns it into an
    AES-256-GCM key; the associated data binds the ciphertext to its *context* (tender,
    bidder, version), so a sealed bid cannot be moved to another bidder or version
    without failing at opening. The plaintext is framed with its length and padded to a
    multiple of ``pad_to`` bytes so that the sealed size only tells the length roughly.
    Format: ``b"CSB1" ‖ ephemeral public key (32) ‖ nonce (12) ‖ ciphertext+tag``.

Wrapping (:func:`wrap_key` / :func:`unwrap_key`)
    The private key is encrypted with AES-256-GCM under a key derived (HKDF) from a
    random 128-bit secret ``K`` (:data:`SECRET_BYTES`). Format: ``b"CWK1" ‖ nonce ‖ ct``.

Sharing (:func:`split_secret` / :func:`combine_shares`)
    Shamir's secret sharing (Shamir 1979, "How to share a secret", CACM 22(11)) of ``K``,
    byte by byte over GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B):
    each byte of ``K`` is the constant term of its own random polynomial of degree k - 1;
    share ``i`` (1 ≤ i ≤ n ≤ 255) holds the polynomials' values at x = i. Any k shares
    give ``K`` back by Lagrange interpolation at 0; fewer tell nothing about it.

Share codes (:func:`encode_share` / :func:`decode_share`)
    A share is its index (1 byte) and value (16 bytes) followed by a 3-byte checksum
    (the first bytes of SHA-256 over the other 17), 20 bytes = 160 bits, written as 32
    characters of Crockford's base32 in eight groups of four: ``7K2M-9XQ0-…``. Reading is
    case-insensitive, ignores spaces and dashes, and takes O as 0 and I or L as 1; a typing
    error is caught by the checksum (a wrong code passes with probability 2^-24).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_MAGIC = b"CSB1"
WRAP_MAGIC = b"CWK1"
KEY_BYTES = 32  # X25519 keys, raw
NONCE_BYTES = 12
SECRET_BYTES = 16  # K, the secret that wraps the private key and is shared
CHECK_BYTES = 3
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
CODE_GROUP = 4
MAX_SHARES = 255

_SEAL_INFO = b"coord sealed bid v1"
_WRAP_INFO = b"coord tender key wrap v1"
_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}


class SealError(ValueError):
    """A sealed value or a key could not be opened: wrong key, wrong context or tampered."""


class ShareError(ValueError):
    """A share code is malformed or its checksum does not match (a typing error)."""


# -- Key pair, sealing, wrapping ----------------------------------------------------------------


def generate_keypair() -> tuple[bytes, bytes]:
    """Return a new X25519 key pair as raw bytes: (public, private)."""
    private = X25519PrivateKey.generate()
    return private.public_key().public_bytes_raw(), private.private_bytes_raw()


def fingerprint(public_key: bytes) -> str:
    """Return a short hex fingerprint of a public key, for display and the audit trail."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def _frame(plaintext: bytes, pad_to: int) -> bytes:
    if pad_to < 1:
        raise ValueError("pad_to must be positive")
    framed = struct.pack(">Q", len(plaintext)) + plaintext
    return framed + b"\0" * (-len(framed) % pad_to)


def _unframe(framed: bytes) -> bytes:
    if len(framed) < 8:
        raise SealError("sealed value too short")
    (length,) = struct.unpack(">Q", framed[:8])
    if length > len(framed) - 8:
        raise SealError("sealed value has a bad length")
    return framed[8 : 8 + length]


def seal(public_key: bytes, plaintext: bytes, context: bytes, *, pad_to: int = 1) -> bytes:
    """Encrypt `plaintext` to `public_key`, bound to `context` (the associated data)."""
    try:
        recipient = X25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise SealError("not an X25519 public key") from exc
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes_raw()
    key = _hkdf(ephemeral.exchange(recipient), epk + public_key, _SEAL_INFO)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, _frame(plaintext, pad_to), SEAL_MAGIC + context)
    return SEAL_MAGIC + epk + nonce + ciphertext


def unseal(private_key: bytes, sealed: bytes, context: bytes) -> bytes:
    """Decrypt a value made by :func:`seal`; raise SealError if anything does not match."""
    sealed = bytes(sealed)
    head = len(SEAL_MAGIC) + KEY_BYTES + NONCE_BYTES
    if len(sealed) < head + 16 or not sealed.startswith(SEAL_MAGIC):
        raise SealError("not a sealed value")
    epk = sealed[len(SEAL_MAGIC) : len(SEAL_MAGIC) + KEY_BYTES]
    nonce = sealed[len(SEAL_MAGIC) + KEY_BYTES : head]
    try:
        private = X25519PrivateKey.from_private_bytes(private_key)
        shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
        public = private.public_key().public_bytes_raw()
        key = _hkdf(shared, epk + public, _SEAL_INFO)
        framed = AESGCM(key).decrypt(nonce, sealed[head:], SEAL_MAGIC + context)
    except (InvalidTag, ValueError) as exc:
        raise SealError("the sealed value does not open with this key and context") from exc
    return _unframe(framed)


def wrap_key(private_key: bytes, secret: bytes, context: bytes) -> bytes:
    """Encrypt a private key under the shared secret K (bound to `context`)."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"the secret must be {SECRET_BYTES} bytes")
    nonce = os.urandom(NONCE_BYTES)
    key = _hkdf(secret, b"", _WRAP_INFO)
    return WRAP_MAGIC + nonce + AESGCM(key).encrypt(nonce, private_key, WRAP_MAGIC + context)


def unwrap_key(wrapped: bytes, secret: bytes, context: bytes) -> bytes:
    """Decrypt a private key wrapped by :func:`wrap_key`; SealError if K or context is wrong."""
    wrapped = bytes(wrapped)
    if not wrapped.startswith(WRAP_MAGIC) or len(wrapped) < len(WRAP_MAGIC) + NONCE_BYTES + 16:
        raise SealError("not a wrapped key")
    nonce = wrapped[len(WRAP_MAGIC) : len(WRAP_MAGIC) + NONCE_BYTES]
    key = _hkdf(secret, b"", _WRAP_INFO)
    try:
        return AESGCM(key).decrypt(
            nonce, wrapped[len(WRAP_MAGIC) + NONCE_BYTES :], WRAP_MAGIC + context
        )
    except InvalidTag as exc:
        raise SealError("the shares do not open this key") from exc


def receipt(sealed: bytes) -> str:
    """Return the receipt of a sealed bid: the hex SHA-256 of its sealed bytes."""
    return hashlib.sha256(bytes(sealed)).hexdigest()


# -- GF(2^8) and Shamir -------------------------------------------------------------------------


def _tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 510, [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x ^= (x << 1) ^ (0x11B if x & 0x80 else 0)  # multiply by the generator 3
    for i in range(255, 510):
        exp[i] = exp[i - 255]
    return exp, log


_EXP, _LOG = _tables()


def gf_mul(a: int, b: int) -> int:
    """Multiply two elements of GF(2^8) (AES polynomial)."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a: int, b: int) -> int:
    """Divide in GF(2^8); b must not be 0."""
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def _evaluate(coefficients: list[int], x: int) -> int:
    rv = 0
    for c in reversed(coefficients):  # Horner
        rv = gf_mul(rv, x) ^ c
    return rv


def split_secret(secret: bytes, n: int, k: int) -> list[tuple[int, bytes]]:
    """Split `secret` into n shares (index, value) of which any k give it back."""
    if not 1 <= k <= n <= MAX_SHARES:
        raise ValueError("need 1 <= k <= n <= 255")
    polys = [[byte, *secrets.token_bytes(k - 1)] for byte in secret]
    return [(x, bytes(_evaluate(p, x) for p in polys)) for x in range(1, n + 1)]


def combine_shares(shares: Iterable[tuple[int, bytes]]) -> bytes:
    """Recover the secret from k (or more) distinct shares by Lagrange interpolation at 0."""
    points = list(shares)
    if not points:
        raise ValueError("no shares")
    xs = [x for x, _ in points]
    if len(set(xs)) != len(xs) or not all(1 <= x <= MAX_SHARES for x in xs):
        raise ValueError("share indices must be distinct and in 1..255")
    length = len(points[0][1])
    if any(len(y) != length for _, y in points):
        raise ValueError("shares differ in length")
    weights = []
    for i, xi in enumerate(xs):
        num = den = 1
        for j, xj in enumerate(xs):
            if i != j:
                num = gf_mul(num, xj)
                den = gf_mul(den, xj ^ xi)
        weights.append(gf_div(num, den))
    rv = bytearray(length)
    for w, (_, y) in zip(weights, points, strict=True):
        for pos, byte in enumerate(y):
            rv[pos] ^= gf_mul(w, byte)
    return bytes(rv)


# -- Share codes --------------------------------------------------------------------------------


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(b"coord share code\0" + payload).digest()[:CHECK_BYTES]


def encode_share(index: int, value: bytes) -> str:
    """Write a share as a typable code: 32 base32 characters in groups of four."""
    if not 1 <= index <= MAX_SHARES or len(value) != SECRET_BYTES:
        raise ValueError("a share is an index 1..255 and a 16-byte value")
    payload = bytes([index]) + value
    number = int.from_bytes(payload + _checksum(payload), "big")
    chars = []
    for _ in range((len(payload) + CHECK_BYTES) * 8 // 5):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    text = "".join(reversed(chars))
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, len(text), CODE_GROUP))


def decode_share(code: str) -> tuple[int, bytes]:
    """Read a share code back into (index, value); ShareError on any typing error."""
    text = "".join(c for c in (code or "").upper() if c not in " -\t\r\n")
    size = 1 + SECRET_BYTES + CHECK_BYTES
    if len(text) != size * 8 // 5:
        raise ShareError("a share code has 32 characters")
    number = 0
    for c in text:
        if c not in _DECODE:
            raise ShareError(f"“{c}” does not occur in share codes")
        number = number * 32 + _DECODE[c]
    raw = number.to_bytes(size, "big")
    payload, check = raw[:-CHECK_BYTES], raw[-CHECK_BYTES:]
    if not hmac.compare_digest(check, _checksum(payload)) or payload[0] == 0:
        raise ShareError("the share code has a typing error")
    return payload[0], payload[1:]


def share_digest(context: bytes, index: int, value: bytes) -> str:
    """Return the digest kept instead of a share: SHA-256 over the context and the share."""
    return hashlib.sha256(b"coord share digest\0" + context + bytes([index]) + value).hexdigest()
