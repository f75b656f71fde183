"""Residents as groups: who stands for whom in what the public (and by default staff) sees.

Pure module: stdlib only (no flask, no sqlalchemy).

The privacy rule (DESIGN.md): an individual resident never appears as an opponent, ally,
party to a conflict, broker or node of the relation graph; residents appear as groups of
at least :data:`MINIMUM`. :func:`assign` forms the groups from head counts per *place*
``(community id, building)`` (building ``""`` for unverified residents and residents
without a building, who count in their community's group):

* the residents of a building form a group when there are at least ``minimum`` of them;
* the rest of a community (small buildings, no building, unverified) form the
  community's group when they are at least ``minimum``;
* what is still left of each community joins its street's group when that reaches
  ``minimum``; otherwise those residents are left out, and their number is reported.

Group ids are negative integers derived from the group's key (stable across reports, so
that reports compare; never a stakeholder id, which is positive). :func:`relabel_edges`,
:func:`contract_nodes` and :func:`merge_relations` contract a signed weighted graph onto
the groups: a resident's ties become the group's, ties inside a group are dropped and
counted as internal agreement or disagreement, and ties between the same two ends are
combined by their net signed weight (the sign of the sum, its absolute value as weight;
dropped when they cancel out) with the counts summed.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

MINIMUM = 3
BUILDING, COMMUNITY, STREET = "building", "community", "street"
MAX_TOPICS = 8

Place = tuple[int, str]


class GroupKey(NamedTuple):
    """What a group is: a building of a community, a community's rest or a street's rest."""

    level: str
    place: int  # the community id (building, community) or street id (street)
    building: str = ""


@dataclass(frozen=True)
class Group:
    """A group of residents standing in for its members."""

    id: int
    key: GroupKey
    size: int


@dataclass
class Grouping:
    """Groups and which group each place belongs to (None: left out)."""

    groups: dict[int, Group] = field(default_factory=dict)
    of_place: dict[Place, int | None] = field(default_factory=dict)
    left_out: int = 0

    def group_of(self, residents: Mapping[Hashable, Place]) -> dict[Hashable, int | None]:
        """Map residents (id → place) to their group ids (None when left out)."""
        return {r: self.of_place.get(place_of(p)) for r, p in residents.items()}


def group_id(key: GroupKey) -> int:
    """Return the stable negative id of a group (below -1, within a 32-bit integer, so that
    it may meet stakeholder ids in SQL)."""
    digest = hashlib.sha256(repr(tuple(key)).encode()).hexdigest()
    return -(int(digest[:7], 16) + 2)


def place_of(place: Place) -> Place:
    """Normalise a place: an int community id and a stripped building."""
    community, building = place
    return int(community), (building or "").strip()


def assign(
    places: Mapping[Place, int],
    streets: Mapping[int, int | None],
    *,
    minimum: int = MINIMUM,
) -> Grouping:
    """Form the groups from the number of residents per place (see the module docstring).

    `streets` gives each community's street (None: a community of no street, whose rest
    is left out when too small).
    """
    counts: Counter[Place] = Counter()
    for place, n in places.items():
        if n < 0:
            raise ValueError(f"negative count at {place!r}")
        counts[place_of(place)] += int(n)
    rv = Grouping()
    rest: Counter[int] = Counter()
    for (community, building), n in sorted(counts.items()):
        if building and n >= minimum:
            rv.of_place[(community, building)] = _add(
                rv, GroupKey(BUILDING, community, building), n
            )
        else:
            rest[community] += n
    street_rest: Counter[int | None] = Counter()
    community_group: dict[int, int | None] = {}
    for community, n in sorted(rest.items()):
        if n >= minimum:
            community_group[community] = _add(rv, GroupKey(COMMUNITY, community), n)
        else:
            street_rest[streets.get(community)] += n
    street_group: dict[int | None, int | None] = {}
    for street, n in sorted(street_rest.items(), key=lambda x: (x[0] is None, x[0] or 0)):
        if street is not None and n >= minimum:
            street_group[street] = _add(rv, GroupKey(STREET, street), n)
        else:
            street_group[street] = None
            rv.left_out += n
    for place in counts:
        if place in rv.of_place:
            continue
        community = place[0]
        if community in community_group:
            rv.of_place[place] = community_group[community]
        else:
            rv.of_place[place] = street_group.get(streets.get(community))
    return rv


def _add(grouping: Grouping, key: GroupKey, size: int) -> int:
    gid = group_id(key)
    grouping.groups[gid] = Group(gid, key, size)
    return gid


_DROP = object()


def _end(node: Hashable, group_of: Mapping[Hashable, int | None]) -> Any:
    """Return the node standing for `node`: its group, itself, or _DROP (left out)."""
    if node not in group_of:
        return node
    rv = group_of[node]
    return _DROP if rv is None else rv


def contract_nodes(
    nodes: Iterable[tuple[Hashable, str]],
    group_of: Mapping[Hashable, int | None],
    kind: str = "resident",
) -> list[tuple[Hashable, str]]:
    """Replace the grouped nodes of ``(id, kind)`` pairs by their groups (each once)."""
    rv: dict[Hashable, str] = {}
    for node, node_kind in nodes:
        end = _end(node, group_of)
        if end is _DROP:
            continue
        rv.setdefault(end, kind if node in group_of else node_kind)
    return list(rv.items())


def relabel_edges(
    edges: Iterable[tuple], group_of: Mapping[Hashable, int | None]
) -> tuple[list[tuple], Counter]:
    """Relabel edge ends ``(a, b, sign, weight, ...)`` by group, keeping parallel edges.

    Returns the edges between distinct ends, and the ties inside groups counted as
    ``Counter({(group, sign): number})``. Edges of left-out residents are dropped.
    """
    rv = []
    internal: Counter = Counter()
    for edge in edges:
        a, b = _end(edge[0], group_of), _end(edge[1], group_of)
        if a is _DROP or b is _DROP:
            continue
        if a == b:
            internal[(a, 1 if edge[2] > 0 else -1)] += 1
            continue
        rv.append((a, b, *edge[2:]))
    return rv, internal


def merge_relations(
    rows: Iterable[Mapping[str, Any]], group_of: Mapping[Hashable, int | None]
) -> tuple[list[dict[str, Any]], Counter]:
    """Contract inferred relations (dicts with a, b, sign, weight and counts) onto groups.

    Relations between the same two ends are combined: net sign of the summed signed
    weights, weight its absolute value (dropped at zero), ``shared``, ``agreed`` and
    ``disagreed`` summed, ``pairs`` the number combined, topics merged in order (at most
    :data:`MAX_TOPICS` each), ``when`` the latest. Returns them ordered by ends and the
    relations inside groups counted as in :func:`relabel_edges`.
    """
    merged: dict[tuple, dict[str, Any]] = {}
    internal: Counter = Counter()
    for r in rows:
        a, b = _end(r["a"], group_of), _end(r["b"], group_of)
        if a is _DROP or b is _DROP:
            continue
        if a == b:
            internal[(a, 1 if r["sign"] > 0 else -1)] += 1
            continue
        key = (a, b) if (a, b) <= (b, a) else (b, a)
        m = merged.get(key)
        if m is None:
            m = merged[key] = _empty_relation(*key)
        _add_relation(m, r)
    rv = []
    for key in sorted(merged):
        m = merged[key]
        net = m.pop("net")
        if abs(net) < 1e-12:
            continue
        m["sign"] = 1 if net > 0 else -1
        m["weight"] = round(abs(net), 4)
        rv.append(m)
    return rv, internal


def _empty_relation(a: Hashable, b: Hashable) -> dict[str, Any]:
    return {"a": a, "b": b, "net": 0.0, "shared": 0, "agreed": 0, "disagreed": 0, "pairs": 0}


def _add_relation(m: dict[str, Any], r: Mapping[str, Any]) -> None:
    m["net"] += r["sign"] * r["weight"]
    m["pairs"] += r.get("pairs", 1)
    for k in ("shared", "agreed", "disagreed"):
        m[k] += r[k]
    for k in ("topics_agreed", "topics_disagreed"):
        if k in r:
            topics = m.setdefault(k, [])
            topics.extend(t for t in r[k] if t not in topics and len(topics) < MAX_TOPICS)
    when = r.get("when")
    if "when" in r and (m.get("when") is None or (when is not None and when > m["when"])):
        m["when"] = when


def relabel_rows(rows: Iterable[tuple], group_of: Mapping[Hashable, int | None]) -> list[tuple]:
    """Replace the first element (a node) of each row by its group (left-out rows dropped)."""
    rv = []
    for row in rows:
        end = _end(row[0], group_of)
        if end is not _DROP:
            rv.append((end, *row[1:]))
    return rv


def internal_counts(*counters: Counter) -> dict[int, dict[str, int]]:
    """Return ``{group: {"positive": n, "negative": n}}`` from internal-tie counters."""
    rv: dict[int, dict[str, int]] = defaultdict(lambda: {"positive": 0, "negative": 0})
    for counter in counters:
        for (group, sign), n in counter.items():
            rv[group]["positive" if sign > 0 else "negative"] += n
    return dict(rv)
