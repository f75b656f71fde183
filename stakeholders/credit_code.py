"""Unified social credit codes (统一社会信用代码, GB 32100-2015): normalising and checking."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

#: The 31 characters a code may use: digits and capital letters without I, O, Z, S, V.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of positions 1–17 in the check digit (3^(i-1) mod 31).
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
#: Positions 3–8 (0-based slice) hold the registering authority's administrative division code.
DIVISION = slice(2, 8)


class Reason(enum.StrEnum):
    """What is wrong with a code, in the order it is checked."""

    LENGTH = "length"
    CHARACTERS = "characters"
    DIVISION = "division"
    CHECK_DIGIT = "check_digit"


@dataclass(frozen=True)
class Invalid:
    """Why a code is refused; `detail` is the length or the characters at fault."""

    reason: Reason
    detail: str = ""


def normalise(code: str) -> str:
    """Return the code as stored: full-width forms folded, whitespace removed, upper-cased."""
    return "".join(unicodedata.normalize("NFKC", code).split()).upper()


def check_digit(first17: str) -> str:
    """Return the check digit of a code's first 17 characters: 31 − (Σ weight·value mod 31)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> Invalid | None:
    """Return what is wrong with a normalised code, or None when it is valid."""
    if len(code) != LENGTH:
        return Invalid(Reason.LENGTH, str(len(code)))
    wrong = "".join(dict.fromkeys(c for c in code if c not in ALPHABET))
    if wrong:
        return Invalid(Reason.CHARACTERS, wrong)
    if not code[DIVISION].isdigit():
        return Invalid(Reason.DIVISION, code[DIVISION])
    if check_digit(code[:-1]) != code[-1]:
        return Invalid(Reason.CHECK_DIGIT, code[-1])
    return None


def is_valid(code: str) -> bool:
    """Tell whether a normalised code is well formed and its check digit matches."""
    return problem(code) is None
