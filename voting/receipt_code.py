"""The short receipt code a voter writes down: 16 Crockford base32 characters in groups of 4.

A ballot's receipt is SHA-256 (64 hex digits). Its first 80 bits, written in Crockford's
base32 (digits and capitals without I, L, O, U), make a code like ``7KQ2-M9XD-4B0T-Z8WE``
that is short enough to copy by hand and to read out on the phone. The bulletin board keeps
the full receipt and finds a ballot by the code's prefix.

Collisions: with n ballots in a poll, the chance that two share a code is about
n² / 2⁸¹ — for 100 000 ballots, about 4 in 10¹⁵. A board still answers "several ballots"
instead of a wrong one when a typed prefix is ambiguous.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16  # characters: 80 bits, the first 20 hex digits of the receipt
GROUP = 4
_HEX_DIGITS = LENGTH * 5 // 4
# Characters people confuse with a code character read as that character.
ALIASES = {"I": "1", "L": "1", "O": "0"}


def short_code(receipt: str) -> str:
    """Return the receipt's short code, without dashes."""
    number = int(receipt[:_HEX_DIGITS], 16)
    chars = []
    for _i in range(LENGTH):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def grouped(code: str) -> str:
    """Write a code in dash-separated groups of four for reading."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def parse(text: str) -> str | None:
    """Read a typed code: any case, with or without dashes or spaces; None when it is not one.

    A prefix of a code is accepted (the board matches by prefix); I and L read as 1, O as 0.
    """
    chars = "".join(text.split()).replace("-", "").upper()
    chars = "".join(ALIASES.get(c, c) for c in chars)
    if not chars or len(chars) > LENGTH or any(c not in ALPHABET for c in chars):
        return None
    return chars


def matching(code: str, receipts: list[str]) -> list[str]:
    """Return the receipts whose short code starts with `code` (an already parsed code)."""
    return [r for r in receipts if short_code(r).startswith(code)]
