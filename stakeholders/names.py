"""Organisation names: how a name is stored, and when two names are the same name."""

from __future__ import annotations

import unicodedata

#: Unicode general categories left out of the comparison key: punctuation (P), symbols (S),
#: separators (Z) and control or format characters (C) such as zero-width spaces.
IGNORED_CATEGORIES = frozenset("PSZC")
#: The key column's width; keys of absurdly long names are cut (names are at most 80 chars).
KEY_LENGTH = 255


def clean_name(name: str) -> str:
    """Return a name as stored: trimmed, inner runs of whitespace collapsed to one space."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """Return the key two names share when they are the same name to a reader.

    NFKC folds full-width and half-width forms (``（`` → ``(``, ``Ａ`` → ``A``); case is
    folded; whitespace, punctuation and symbols are dropped.
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = (c for c in folded if unicodedata.category(c)[0] not in IGNORED_CATEGORIES)
    return "".join(kept)[:KEY_LENGTH]
