"""Three-way merge of texts, line by line (pure: stdlib only).

`merge3(base, ours, theirs)` merges two texts that both started from `base`: where only
one side changed a run of lines, that change is taken; where both sides made the same
change, it is taken once; where both sides changed the same lines differently, the
result holds a conflict hunk between markers, git style::

    <<<<<<< current
    the lines of `ours`
    =======
    the lines of `theirs`
    >>>>>>> amendment

The alignment follows the classic diff3 algorithm: lines unchanged on both sides (found
with difflib) synchronise the three texts; every stretch between two synchronised runs
is resolved as above. Adjacent edits on the two sides (one changes line 2, the other
line 3) conflict, as they do in diff3 and git: a human should look at them.

Lines are compared whole, so Chinese text (without spaces) merges like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

START, SEPARATOR, END = "<<<<<<<", "=======", ">>>>>>>"


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the same lines: their texts and the base text between them."""

    ours: str
    theirs: str
    base: str


@dataclass(frozen=True)
class Chunk:
    """A piece of the merge result: merged text, or a conflict (then `text` is "")."""

    text: str
    conflict: Conflict | None = None


@dataclass(frozen=True)
class MergeResult:
    """The merged text (with conflict markers where needed), its conflicts and chunks."""

    text: str
    conflicts: list[Conflict]
    clean: bool
    chunks: tuple[Chunk, ...] = ()


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _matches(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int]]:
    return [tuple(m) for m in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()]


def _sync_regions(
    base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Return the runs of base lines kept unchanged on both sides, with their positions
    in each text: (base start, base end, ours start, ours end, theirs start, theirs end)."""
    a_matches, b_matches = _matches(base, ours), _matches(base, theirs)
    ia = ib = 0
    rv = []
    while ia < len(a_matches) and ib < len(b_matches):
        a_base, a_start, a_len = a_matches[ia]
        b_base, b_start, b_len = b_matches[ib]
        start, end = max(a_base, b_base), min(a_base + a_len, b_base + b_len)
        if start < end:
            a_sub, b_sub = a_start + start - a_base, b_start + start - b_base
            rv.append((start, end, a_sub, a_sub + end - start, b_sub, b_sub + end - start))
        if a_base + a_len < b_base + b_len:
            ia += 1
        else:
            ib += 1
    rv.append((len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return rv


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _regions(base: list[str], ours: list[str], theirs: list[str]) -> Iterable[tuple]:
    """Yield ("lines", [...]) for merged lines and ("conflict", base, ours, theirs)."""
    iz = ia = ib = 0
    for z_start, z_end, a_start, a_end, b_start, b_end in _sync_regions(base, ours, theirs):
        z_part, a_part, b_part = base[iz:z_start], ours[ia:a_start], theirs[ib:b_start]
        if a_part or b_part:
            if a_part == b_part or b_part == z_part:
                yield "lines", a_part
            elif a_part == z_part:
                yield "lines", b_part
            else:
                yield from _conflict(z_part, a_part, b_part)
        if z_end > z_start:
            yield "lines", base[z_start:z_end]
        iz, ia, ib = z_end, a_end, b_end


def _conflict(base: list[str], ours: list[str], theirs: list[str]) -> Iterable[tuple]:
    """Yield a conflict, keeping the lines both sides share at its edges out of it."""
    head = _common_prefix(ours, theirs)
    tail = _common_prefix(ours[head:][::-1], theirs[head:][::-1])
    if head:
        yield "lines", ours[:head]
    yield "conflict", base, ours[head : len(ours) - tail], theirs[head : len(theirs) - tail]
    if tail:
        yield "lines", ours[len(ours) - tail :]


def _ends_with_newline(base: str, ours: str, theirs: str) -> bool:
    b, o, t = (s.endswith("\n") for s in (base, ours, theirs))
    return t if o == b else o


def merge3(
    base: str,
    ours: str,
    theirs: str,
    *,
    ours_label: str = "current",
    theirs_label: str = "amendment",
) -> MergeResult:
    """Merge `ours` and `theirs`, two edits of `base`; mark where they conflict."""
    out: list[str] = []
    conflicts: list[Conflict] = []
    chunks: list[Chunk] = []
    pending: list[str] = []
    for region in _regions(_lines(base), _lines(ours), _lines(theirs)):
        if region[0] == "lines":
            out.extend(region[1])
            pending.extend(region[1])
            continue
        _kind, z_part, a_part, b_part = region
        conflict = Conflict("\n".join(a_part), "\n".join(b_part), "\n".join(z_part))
        conflicts.append(conflict)
        if pending:
            chunks.append(Chunk("\n".join(pending)))
            pending = []
        chunks.append(Chunk("", conflict))
        out.extend([f"{START} {ours_label}", *a_part, SEPARATOR, *b_part, f"{END} {theirs_label}"])
    if pending:
        chunks.append(Chunk("\n".join(pending)))
    text = "\n".join(out)
    if out and _ends_with_newline(base, ours, theirs):
        text += "\n"
    return MergeResult(text, conflicts, not conflicts, tuple(chunks))


def _is_marker(line: str) -> bool:
    return line.rstrip() == SEPARATOR or (line.startswith((START, END)) and line[7:8] in ("", " "))


def leftover_markers(text: str, *sources: str) -> list[int]:
    """Return the (1-based) numbers of the lines of `text` that are conflict markers.

    A marker-like line that already stands in one of `sources` (e.g. a Markdown heading
    underlined with exactly seven "=") is the author's text, not a leftover marker.
    """
    known = {line for source in sources for line in _lines(source) if _is_marker(line)}
    return [n for n, line in enumerate(_lines(text), 1) if _is_marker(line) and line not in known]
