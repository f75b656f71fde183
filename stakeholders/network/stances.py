"""Stances that relations are inferred from: a registry the higher packages fill.

`stakeholders` may not import `proposals` or `voting`, yet inferred relations come from
positions, comment reactions and open ballots. Those packages register *stance sources*
here from their packages' ``init_app`` (``proposals/deliberation/stances.py``,
``voting/stances.py``).

A source is ``fn(community_id) -> iterable of (stakeholder_id, item_id, value[, when])``:

* ``value`` is +1 (for / agree), -1 (against / disagree) or 0 (took part, no side);
* ``item_id`` is a string naming what the stance is on, starting with its *topic*:
  ``proposal/12`` (a position), ``proposal/12/comment/40`` (a comment and the reactions
  to it), ``proposal/12/poll/3`` or ``poll/3/<option>`` (an open ballot);
* ``when`` (optional) is the timezone-aware time of the stance.

**Sources yield only behaviour that everybody may see** (published public proposals,
visible comments, non-secret polls whose results are public): inferred relations and their
explanations are shown to every viewer. Secret ballots are never a stance.

A source may also give ``version(community_id)``: a cheap JSON-able value that changes
whenever its stances change (counts and latest timestamps), used to tell whether a cached
network report is still current, and ``labels(topics)`` → ``{topic: (title, url)}`` to name
the topics in explanations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

StanceFn = Callable[[int], Iterable[tuple]]
VersionFn = Callable[[int], Any]
LabelsFn = Callable[[Iterable[str]], dict[str, tuple[str, str]]]


@dataclass(frozen=True)
class StanceSource:
    """A registered provider of stances."""

    name: str
    stances: StanceFn
    version: VersionFn | None = None
    labels: LabelsFn | None = None


_SOURCES: dict[str, StanceSource] = {}


def register_stance_source(
    fn: StanceFn,
    *,
    name: str | None = None,
    version: VersionFn | None = None,
    labels: LabelsFn | None = None,
) -> StanceFn:
    """Register a stance source (idempotent by name); return `fn` (usable as a decorator)."""
    key = name or f"{fn.__module__}.{fn.__qualname__}"
    _SOURCES[key] = StanceSource(key, fn, version, labels)
    return fn


def sources() -> list[StanceSource]:
    """Return the registered sources in registration order."""
    return list(_SOURCES.values())


@dataclass
class Stances:
    """The stances of a community: parallel lists, plus the time of each stance if known."""

    rows: list[tuple[int, str, int]] = field(default_factory=list)
    when: dict[tuple[int, str], datetime] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)


def collect(community_id: int, *, as_of: datetime | None = None) -> Stances:
    """Return every registered source's stances for the community (optionally up to `as_of`)."""
    rv = Stances()
    for source in sources():
        for row in source.stances(community_id):
            if len(row) == 4:
                sid, item, value, when = row
            else:
                sid, item, value = row
                when = None
            if as_of is not None and when is not None and when > as_of:
                continue
            rv.rows.append((int(sid), str(item), int(value)))
            if when is not None:
                rv.when[(int(sid), str(item))] = when
    return rv


def version(community_id: int) -> str:
    """Return a digest that changes whenever any source's stances for the community change."""
    parts = []
    for source in sources():
        if source.version is not None:
            value = source.version(community_id)
        else:  # no cheap version: digest the stances themselves
            value = hashlib.sha256(
                repr(sorted(map(tuple, source.stances(community_id)))).encode()
            ).hexdigest()
        parts.append([source.name, value])
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=65536)
def topic_of(item: str) -> str:
    """Return the topic of an item id: ``proposal/12/comment/40`` → ``proposal/12``."""
    parts = item.split("/", 2)
    return "/".join(parts[:2])


def label_topics(topics: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Name topics ``{topic: (title, url)}`` through the sources that know them."""
    wanted = sorted(set(topics))
    rv: dict[str, tuple[str, str]] = {}
    if not wanted:
        return rv
    for source in sources():
        if source.labels is not None:
            rv.update(source.labels([t for t in wanted if t not in rv]))
    return rv
