"""Readable differences between two texts, line by line and, inside changed lines,
character by character (so that Chinese text, which has no spaces, diffs well). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Segment:
    """A run of characters inside a line: kept, inserted or deleted."""

    op: str  # "equal" | "insert" | "delete"
    text: str


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: unchanged, added, removed, or changed with its segments."""

    op: str  # "equal" | "insert" | "delete" | "replace"
    old: str | None
    new: str | None
    segments: tuple[Segment, ...] = ()


def _segments(old: str, new: str) -> tuple[Segment, ...]:
    rv = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            rv.append(Segment("equal", old[i1:i2]))
            continue
        if i2 > i1:
            rv.append(Segment("delete", old[i1:i2]))
        if j2 > j1:
            rv.append(Segment("insert", new[j1:j2]))
    return tuple(rv)


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """Compare two texts; changed lines paired one to one carry character segments."""
    a, b = old.splitlines(), new.splitlines()
    rv: list[DiffLine] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rv.extend(DiffLine("equal", line, line) for line in a[i1:i2])
        elif op == "delete":
            rv.extend(DiffLine("delete", line, None) for line in a[i1:i2])
        elif op == "insert":
            rv.extend(DiffLine("insert", None, line) for line in b[j1:j2])
        else:
            pairs = min(i2 - i1, j2 - j1)
            for k in range(pairs):
                rv.append(
                    DiffLine("replace", a[i1 + k], b[j1 + k], _segments(a[i1 + k], b[j1 + k]))
                )
            rv.extend(DiffLine("delete", line, None) for line in a[i1 + pairs : i2])
            rv.extend(DiffLine("insert", None, line) for line in b[j1 + pairs : j2])
    return rv
