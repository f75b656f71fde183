"""The network of a community: load it, analyse it, cache the report, recompute when it changes.

Inputs
    Nodes are the community's stakeholders (`queries.community_stakeholders`). Edges are the
    *declared* relations of the community that the scope may see (claimed, confirmed,
    disputed and verified; a disputed relation counts half, a retracted one not at all),
    with weight = strength (1–3), plus the relations *inferred* from the stances the
    registered sources give (`stakeholders.network.stances`: positions, comment reactions, open
    ballots) with `network.infer_relations`, weight = ``INFERRED_SCALE`` × score (so a
    perfect agreement weighs like a declared relation of strength 2).

Scopes
    ``public``: public relations only — what everybody sees. ``managers``: every relation of
    the community — for the members of its residents committee and of the street office
    (`permissions.is_network_manager`). Each scope has its own cached report, so nothing of a
    managers-only relation (not even its effect on the camps, triads or brokers) reaches a
    public report, page, export or explanation. Inferred relations come only from public
    behaviour and are the same in both scopes. ``individual``: the managers' relations with
    every resident on their own, shown only to a manager who stated a purpose (audited, see
    :func:`record_individual_view`).

Residents as groups (the privacy rule)
    The ``public`` and ``managers`` reports are computed on residents grouped by building
    (`stakeholders.network.grouping`, at least 3 per group, merged upward): each resident's
    ties, stances and inferred relations become their group's, so that no stored report of
    these scopes holds an individual resident. Groups have negative ids; the report lists
    them under ``groups`` (with their size and the ties inside them), and under
    ``_group_of`` which group stands for which resident (private: for relabelling
    declared relations on pages; the API leaves out every key starting with ``_``).

Cache
    A report is stored in `NetworkSnapshot`, keyed by a digest of the inputs
    (``pub:``/``mgr:`` + 60 hex digits of SHA-256 over the scope, the node set, the
    relations' count and latest change and every stance source's version). A page asks for
    the report of the current digest; when there is none it is computed in the request for
    small communities (up to ``NETWORK_SYNC_MAX_NODES`` stakeholders, default 2,000) and
    otherwise in the background while the page shows the latest report with a progress bar.
    Old snapshots are pruned to the latest few plus one a day for 60 days, which keeps the
    report of about a month ago for "how it changed since last month".

Background work
    ``NETWORK_JOBS`` = ``rq`` (default when `coord.jobs` runs on RQ, i.e. ``COORD_REDIS_URL``
    is set; the only mode production accepts: jobs on the ``network`` queue, retried, run by
    ``flask coord worker``), ``thread`` (default otherwise, for development: a thread of the
    app process), ``off`` (default under TESTING: nothing runs by itself; tests call
    :func:`refresh`). Relation changes and new positions mark the community dirty; after the
    commit its managers report is recomputed in the background, which also raises the
    alerts (:data:`network_changed`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from blinker import Namespace
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from coord import jobs
from coord.db import db, utcnow
from coord.errors import DomainError, NotAllowed
from coord.models import Community, Street, User
from stakeholders import queries
from stakeholders import services as stakeholder_services
from stakeholders.models import (
    Kind,
    Membership,
    MembershipStatus,
    NetworkSnapshot,
    Relation,
    RelationStatus,
    RelationType,
    RelationVisibility,
    ResidenceStatus,
    ResidentProfile,
    Stakeholder,
)
from stakeholders.network import analysis as network
from stakeholders.network import grouping, relations, stances
from stakeholders.network import permissions as network_permissions

log = logging.getLogger(__name__)

PUBLIC, MANAGERS, INDIVIDUAL = "public", "managers", "individual"
SCOPES = (PUBLIC, MANAGERS)
#: Version 2: residents grouped. The version is part of every snapshot's prefix, so that
#: reports of earlier versions (with residents on their own) are never shown again.
REPORT_VERSION = 2
PREFIX = {
    PUBLIC: f"pub{REPORT_VERSION}:",
    MANAGERS: f"mgr{REPORT_VERSION}:",
    INDIVIDUAL: f"ind{REPORT_VERSION}:",
}
_DIGEST_LENGTH = 64  # NetworkSnapshot.inputs_digest
INFERRED_SCALE = 2.0
DISPUTED_FACTOR = 0.5
#: Above this many pairs sharing an item, each stakeholder keeps only its strongest ties.
PAIR_LIMIT = 500_000
NEIGHBOURS = 12
MAX_EXPLAINED = 20_000  # inferred relations whose shared topics are kept in the report
MAX_TOPICS = 8  # topics kept per inferred relation and side
MAX_CONFLICTS = 30
MAX_NEGATIVE_PAIRS = 5_000
MAX_REPORT_TRIADS = 60
MAX_REPORT_BROKERS = 12
STALE_PENDING = timedelta(minutes=15)
#: A failed recompute is tried again after 1 and 10 minutes.
JOB_RETRY = jobs.Retry(max=2, interval=[60, 600])
_DIRTY = "coord_network_dirty"

_signals = Namespace()
network_changed = _signals.signal(
    "network-changed",
    doc="A community's managers report was recomputed and differs from the previous one; "
    "sender is the community id, with `snapshot`, `new_conflicts` (pairs of stakeholder "
    "ids) and `new_triads` (dicts with `nodes` and `mediator`).",
)


# -- Scope ------------------------------------------------------------------------------------


def scope_for(user: User | None, community: Community) -> str:
    """Return the report scope a user sees for a community."""
    return MANAGERS if network_permissions.is_network_manager(user, community) else PUBLIC


# -- Inputs -----------------------------------------------------------------------------------


@dataclass
class DeclaredEdge:
    """A declared relation as the analysis sees it."""

    id: int
    source: int
    target: int
    type: str
    sign: int
    strength: int
    status: str
    visibility: str
    created_at: datetime

    @property
    def weight(self) -> float:
        factor = DISPUTED_FACTOR if self.status == RelationStatus.DISPUTED.value else 1.0
        return float(self.strength) * factor


@dataclass
class Inputs:
    """What a community's report is computed from."""

    nodes: list[tuple[int, str]]
    declared: list[DeclaredEdge]
    stances: stances.Stances
    kinds: dict[int, str] = field(default_factory=dict)


def node_rows(community: Community) -> list[tuple[int, str]]:
    """Return ``(id, kind)`` of every stakeholder of the community (one query)."""
    rows = db.session.execute(
        queries.community_stakeholders(community)
        .with_only_columns(Stakeholder.id, Stakeholder.kind)
        .order_by(Stakeholder.id)
    )
    return [(sid, kind.value if hasattr(kind, "value") else kind) for sid, kind in rows]


def declared_select(community: Community, scope: str) -> sa.Select:
    """Select the live declared relations of a community's network in a scope."""
    rv = sa.select(
        Relation.id,
        Relation.source_id,
        Relation.target_id,
        Relation.type,
        Relation.sign,
        Relation.strength,
        Relation.status,
        Relation.visibility,
        Relation.created_at,
    ).where(
        relations.community_relations_clause(community),
        Relation.status.in_(relations.LIVE_STATUSES),
    )
    if scope == PUBLIC:
        rv = rv.where(Relation.visibility == RelationVisibility.PUBLIC)
    return rv.order_by(Relation.id)


def enum_value(x: Any) -> Any:
    """Return an enum member's value (other values unchanged), as rows may hold either."""
    return x.value if hasattr(x, "value") else x


def declared_edges(
    community: Community, scope: str, *, as_of: datetime | None = None
) -> list[DeclaredEdge]:
    """Return the declared relations of the community's network in a scope (one query)."""
    query = declared_select(community, scope)
    if as_of is not None:
        query = query.where(Relation.created_at <= as_of)
    return [
        DeclaredEdge(
            r.id,
            r.source_id,
            r.target_id,
            enum_value(r.type),
            r.sign,
            r.strength,
            enum_value(r.status),
            enum_value(r.visibility),
            r.created_at,
        )
        for r in db.session.execute(query)
    ]


def load_inputs(community: Community, scope: str, *, as_of: datetime | None = None) -> Inputs:
    """Load the nodes, declared relations and stances of a community."""
    nodes = node_rows(community)
    kinds = dict(nodes)
    declared = [
        e
        for e in declared_edges(community, scope, as_of=as_of)
        if e.source in kinds and e.target in kinds
    ]
    found = stances.collect(community.id, as_of=as_of)
    found.rows = [r for r in found.rows if r[0] in kinds]
    return Inputs(nodes, declared, found, kinds)


def fingerprint(community: Community, scope: str) -> tuple[str, int]:
    """Return the digest of a community's inputs and its number of stakeholders (cheap)."""
    members = queries.community_stakeholders(community).order_by(None).subquery()
    count, id_sum = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(members.c.id), 0))
    ).one()
    rel = declared_select(community, scope).order_by(None).subquery()
    rel_count, rel_max = db.session.execute(sa.select(sa.func.count(), sa.func.max(rel.c.id))).one()
    changed = db.session.scalar(
        sa.select(sa.func.max(Relation.updated_at)).where(
            relations.community_relations_clause(community)
        )
    )
    parts = [
        REPORT_VERSION,
        scope,
        community.id,
        [int(count), int(id_sum)],
        [int(rel_count), rel_max, changed.isoformat() if changed else None],
        stances.version(community.id),
    ]
    return _digest(scope, parts), int(count)


def _digest(scope: str, parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return PREFIX[scope] + digest[: _DIGEST_LENGTH - len(PREFIX[scope])]


# -- Computing a report -----------------------------------------------------------------------


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _co_pairs(rows: list[tuple[int, str, int]]) -> int:
    """Bound the pairs of stakeholders that share an item (sum over items of k choose 2)."""
    per_item: dict[str, int] = defaultdict(int)
    for _sid, item, _v in rows:
        per_item[item] += 1
    return sum(k * (k - 1) // 2 for k in per_item.values())


def _inferred(inputs: Inputs) -> list[dict[str, Any]]:
    rows = inputs.stances.rows
    when = inputs.stances.when
    if _co_pairs(rows) <= PAIR_LIMIT:
        found = [
            (r, r.a, r.b, r.sign, r.weight, r.shared, r.agreed, r.disagreed)
            for r in network.infer_relations(rows)
        ]
        stance_of = None
    else:
        found = [
            (None, a, b, 1 if sc > 0 else -1, abs(sc), sh, (bo + ne) // 2, (bo - ne) // 2)
            for a, b, sc, sh, ne, bo in network.nearest_relations(rows, neighbours=NEIGHBOURS)
        ]
        stance_of = defaultdict(dict)
        for sid, item, value in rows:
            stance_of[sid][item] = value
    out = []
    for i, (rel, a, b, sign, weight, shared, agreed, disagreed) in enumerate(found):
        item: dict[str, Any] = {
            "a": a,
            "b": b,
            "sign": sign,
            "weight": round(weight, 4),
            "shared": shared,
            "agreed": agreed,
            "disagreed": disagreed,
        }
        if i < MAX_EXPLAINED:
            if rel is not None:
                same, opposite = rel.items_agreed, rel.items_disagreed
            else:
                sa_, sb_ = stance_of[a], stance_of[b]
                common = [it for it in sa_ if it in sb_]
                same = [it for it in common if sa_[it] * sb_[it] > 0]
                opposite = [it for it in common if sa_[it] * sb_[it] < 0]
            item["topics_agreed"] = _topics(same)
            item["topics_disagreed"] = _topics(opposite)
            times = [
                t
                for it in (*same, *opposite)
                for t in (when.get((a, it)), when.get((b, it)))
                if t is not None
            ]
            item["when"] = max(times).isoformat() if times else None
        out.append(item)
    return out


def _topics(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(stances.topic_of(item), None)
        if len(seen) >= MAX_TOPICS:
            break
    return list(seen)


def _edges(inputs: Inputs, inferred: list[dict[str, Any]]) -> list[tuple]:
    rv: list[tuple] = [
        (e.source, e.target, e.sign, e.weight, e.created_at) for e in inputs.declared
    ]
    for r in inferred:
        when = r.get("when")
        rv.append(
            (
                r["a"],
                r["b"],
                r["sign"],
                INFERRED_SCALE * r["weight"],
                datetime.fromisoformat(when) if when else None,
            )
        )
    return rv


def _merged(edges: list[tuple]) -> tuple[dict[tuple[int, int], float], dict[int, float]]:
    net: dict[tuple[int, int], float] = defaultdict(float)
    degree: dict[int, float] = defaultdict(float)
    for a, b, sign, weight, _when in edges:
        net[_pair(a, b)] += sign * weight
        degree[a] += weight
        degree[b] += weight
    return net, degree


def compute(
    community: Community,
    scope: str,
    *,
    as_of: datetime | None = None,
    progress: Callable[[float], None] | None = None,
    loaded: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Compute a community's network report as plain JSON-able data (nothing is stored).

    `loaded` is called once the inputs are read (background jobs end their transaction
    there, so that SQLite writers are not kept waiting during the analysis).
    """

    def step(fraction: float) -> None:
        if progress is not None:
            progress(fraction)

    inputs = load_inputs(community, scope, as_of=as_of)
    groups = load_groups(community) if scope != INDIVIDUAL else None
    if loaded is not None:
        loaded()
    step(0.1)
    n_nodes = len(inputs.nodes)
    inferred = _inferred(inputs)
    step(0.25)
    edges = _edges(inputs, inferred)
    private: dict[str, Any] = {}
    if groups is not None:
        inputs, inferred, edges, private = _aggregate(inputs, inferred, edges, groups)
    report = network.analyze(
        inputs.nodes,
        edges,
        now=as_of or utcnow(),
        progress=lambda f: step(0.25 + 0.65 * f),
    )
    net, degree = _merged(edges)
    participation, activity = _participation(inputs)
    rv = {
        "version": REPORT_VERSION,
        "scope": scope,
        "community_id": community.id,
        "computed_at": utcnow().isoformat(),
        "as_of": as_of.isoformat() if as_of else None,
        "counts": {
            "nodes": n_nodes,
            "declared": len(inputs.declared),
            "inferred": len(inferred),
            "edges": len(net),
            "stances": len(inputs.stances),
            "topics": len({t for s in participation.values() for t in s}),
        },
        **_structure(report),
        **_conflicts(inputs, inferred, net),
        "degree": sorted((k, round(v, 3)) for k, v in degree.items()),
        "participation": sorted((k, len(v)) for k, v in participation.items()),
        "activity": sorted(activity.items()),
        "inferred": inferred,
        "timings": {k: round(v, 4) for k, v in report.timings.items()},
        "aggregated": groups is not None,
        **private,
    }
    if groups is not None:
        _count_residents(rv)
    step(1.0)
    return rv


# -- Residents as groups -----------------------------------------------------------------------


@dataclass
class Groups:
    """A community's residents as groups: the grouping, who is in which, the places' names."""

    grouping: grouping.Grouping
    group_of: dict[int, int | None]
    names: dict[tuple[str, int], str]

    def records(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Describe the groups (these ids, or all) as plain data for a report."""
        wanted = self.grouping.groups if ids is None else [i for i in ids if i < 0]
        rv = []
        for gid in sorted(wanted):
            g = self.grouping.groups[gid]
            level = "street" if g.key.level == grouping.STREET else "community"
            rv.append(
                {
                    "id": gid,
                    "level": g.key.level,
                    "place": g.key.place,
                    "building": g.key.building,
                    "size": g.size,
                    "name": self.names.get((level, g.key.place), ""),
                }
            )
        return rv


def load_groups(community: Community) -> Groups:
    """Group the residents of a community's network (two queries; a third for a street)."""
    rows = db.session.execute(
        sa.select(Stakeholder.id, ResidentProfile.building)
        .join(ResidentProfile, ResidentProfile.user_id == Stakeholder.user_id)
        .where(
            ResidentProfile.community_id == community.id,
            ResidentProfile.status == ResidenceStatus.VERIFIED,
            Stakeholder.kind == Kind.RESIDENT,
        )
    ).all()
    found = _street_grouping(community.street_id)
    group_of = found.grouping.group_of({sid: (community.id, b or "") for sid, b in rows})
    return Groups(found.grouping, group_of, found.names)


def _street_grouping(street_id: int) -> Groups:
    """Group the residents of a street's communities from their head counts (one query)."""
    building = sa.case(
        (ResidentProfile.status == ResidenceStatus.VERIFIED, ResidentProfile.building), else_=""
    )
    rows = db.session.execute(
        sa.select(Community.id, Community.name, building, sa.func.count())
        .join(ResidentProfile, ResidentProfile.community_id == Community.id)
        .where(
            Community.street_id == street_id,
            ResidentProfile.status.in_([ResidenceStatus.VERIFIED, ResidenceStatus.PENDING]),
        )
        .group_by(Community.id, Community.name, building)
    ).all()
    places: dict[tuple[int, str], int] = defaultdict(int)
    names: dict[tuple[str, int], str] = {}
    for cid, name, b, n in rows:
        places[(cid, b or "")] += int(n)
        names[("community", cid)] = name
    found = grouping.assign(places, {cid: street_id for cid, _b in places})
    if any(g.key.level == grouping.STREET for g in found.groups.values()):
        names[("street", street_id)] = db.session.scalar(
            sa.select(Street.name).where(Street.id == street_id)
        )
    return Groups(found, {}, names)


def community_group_counts(community: Community, groups: Groups | None) -> dict[str, Any] | None:
    """Return the labels of a community's groups of residents and how many are left out."""
    if groups is None:
        return None
    mine = {g for g in groups.group_of.values() if g is not None}
    labels = [
        group_label(g)
        for g in groups.records()
        if g["id"] in mine or (g["level"] != grouping.STREET and g["place"] == community.id)
    ]
    return {
        "labels": labels,
        "residents": len(groups.group_of),
        "left_out": sum(1 for g in groups.group_of.values() if g is None),
    }


def resident_groups(ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """Return the group (id, label) standing for each of these residents (live; no report).

    One query, plus one per street the residents live in. A resident without a claimed
    community, or of a group too small, is "a resident".
    """
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(
            Stakeholder.id,
            ResidentProfile.community_id,
            ResidentProfile.building,
            ResidentProfile.status,
            Community.street_id,
        )
        .join(ResidentProfile, ResidentProfile.user_id == Stakeholder.user_id)
        .join(Community, Community.id == ResidentProfile.community_id)
        .where(Stakeholder.id.in_(wanted), Stakeholder.kind == Kind.RESIDENT)
    ).all()
    streets = {street: _street_grouping(street) for street in {r.street_id for r in rows}}
    rv: dict[int, tuple[int | None, str]] = {sid: (None, _("a resident")) for sid in wanted}
    for r in rows:
        found = streets[r.street_id]
        verified = enum_value(r.status) == ResidenceStatus.VERIFIED.value
        place = (r.community_id, (r.building or "") if verified else "")
        gid = found.grouping.of_place.get(grouping.place_of(place))
        if gid is not None:
            rv[r.id] = (gid, group_label(found.records([gid])[0]))
    return rv


def group_label(group: dict[str, Any]) -> str:
    """Name a group of residents: 3号楼居民（5人） / Other residents of 兰苑社区 (4)."""
    if group["level"] == grouping.BUILDING:
        return _(
            "Residents of building %(building)s (%(num)d)",
            building=group["building"],
            num=group["size"],
        )
    return _("Other residents of %(place)s (%(num)d)", place=group["name"], num=group["size"])


def group_labels(report: dict[str, Any] | None) -> dict[int, str]:
    """Return the labels of the groups of a report."""
    return {g["id"]: group_label(g) for g in (report or {}).get("groups", [])}


def report_group_of(report: dict[str, Any] | None) -> dict[int, int | None] | None:
    """Return which group stands for which resident in an aggregated report (else None)."""
    if not (report or {}).get("aggregated"):
        return None
    return {int(k): int(v) for k, v in report.get("_group_of", [])}


def _aggregate(
    inputs: Inputs, inferred: list[dict[str, Any]], edges: list[tuple], groups: Groups
) -> tuple[Inputs, list[dict[str, Any]], list[tuple], dict[str, Any]]:
    """Contract the inputs, inferred relations and edges onto the groups of residents."""
    group_of = groups.group_of
    edges, internal = grouping.relabel_edges(edges, group_of)
    merged, _inside = grouping.merge_relations(inferred, group_of)
    declared_ends, _inside = grouping.relabel_edges(
        ((e.source, e.target, e.sign, e.weight, e) for e in inputs.declared), group_of
    )
    declared = [
        DeclaredEdge(**{**e.__dict__, "source": a, "target": b})
        for a, b, _s, _w, e in declared_ends
    ]
    nodes = grouping.contract_nodes(inputs.nodes, group_of)
    found = stances.Stances(rows=grouping.relabel_rows(inputs.stances.rows, group_of))
    inside = grouping.internal_counts(internal)
    records = groups.records(n for n, _kind in nodes)
    for g in records:
        g["internal"] = inside.get(g["id"], {"positive": 0, "negative": 0})
    private = {
        "groups": records,
        "left_out": groups.grouping.left_out,
        "_group_of": sorted([k, v] for k, v in group_of.items() if v is not None),
    }
    return Inputs(nodes, declared, found, dict(nodes)), merged, edges, private


def _count_residents(report: dict[str, Any]) -> None:
    """Count the residents of each camp by the sizes of its groups."""
    sizes = {g["id"]: g["size"] for g in report.get("groups", [])}
    for bloc in report.get("blocs", []):
        n = sum(sizes.get(m, 0) for m in bloc["members"])
        if n:
            bloc["composition"]["resident"] = n


def _participation(inputs: Inputs) -> tuple[dict[int, set[str]], dict[int, int]]:
    """Return the topics each stakeholder took a stance on, and its number of stances."""
    participation: dict[int, set[str]] = defaultdict(set)
    activity: dict[int, int] = defaultdict(int)
    for sid, item, _v in inputs.stances.rows:
        participation[sid].add(stances.topic_of(item))
        activity[sid] += 1
    return participation, activity


def _structure(report: network.NetworkReport) -> dict[str, Any]:
    """Return the camps, frustration, triads, brokers, polarization and isolated of a report."""
    pol = report.polarization
    return {
        "blocs": [
            {"members": sorted(b.members), "composition": b.composition} for b in report.blocs
        ],
        "bloc_of": sorted(report.bloc_of.items()),
        "frustration": {
            "count": report.frustration.count,
            "weighted_share": round(report.frustration.weighted_share, 4),
            "edges": [list(e) for e in report.frustration.edges[:200]],
        },
        "triads": [
            {
                "nodes": sorted(t.nodes),
                "mediator": t.mediator,
                "weight": round(t.weight, 3),
                "negative": t.negative,
            }
            for t in report.unbalanced_triads[:MAX_REPORT_TRIADS]
        ],
        "triad_count": report.unbalanced_triad_count,
        "brokers": [_broker(report, b) for b in report.brokers[:MAX_REPORT_BROKERS]],
        "polarization": {
            "value": round(pol.value, 4),
            "balance": round(pol.balance, 4),
            "baseline": round(pol.baseline_frustration, 4),
            "camp_balance": round(pol.camp_balance, 4),
            "trend": [[w.isoformat(), v] for w, v in pol.trend],
        },
        "isolated": sorted(report.isolated),
    }


def _broker(report: network.NetworkReport, b: network.Broker) -> dict[str, Any]:
    """Return a broker's scores, roles and first liaison facts."""
    return {
        "id": b.id,
        "score": round(b.score, 5),
        "betweenness": round(b.betweenness, 5),
        "constraint": round(b.constraint, 4),
        "effective_size": round(b.effective_size, 3),
        "roles": b.roles,
        "liaison": network.liaison_facts(report, b.id)[:3],
    }


def _conflicts(
    inputs: Inputs, inferred: list[dict[str, Any]], net: dict[tuple[int, int], float]
) -> dict[str, Any]:
    """Return the strongest conflicts (with their relations) and every negative pair."""
    negative = sorted(((w, p) for p, w in net.items() if w < -1e-9), key=lambda x: (x[0], x[1]))
    by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    for e in inputs.declared:
        by_pair[_pair(e.source, e.target)].append(e.id)
    inferred_pairs = {_pair(r["a"], r["b"]) for r in inferred}
    return {
        "conflicts": [
            {
                "a": p[0],
                "b": p[1],
                "weight": round(-w, 3),
                "relations": by_pair.get(p, []),
                "inferred": p in inferred_pairs,
            }
            for w, p in negative[:MAX_CONFLICTS]
        ],
        "negative_pairs": [list(p) for _w, p in negative[:MAX_NEGATIVE_PAIRS]],
    }


# -- Snapshots --------------------------------------------------------------------------------

_CACHE_SIZE = 8
_report_cache: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def report_of(snapshot: NetworkSnapshot | None) -> dict[str, Any] | None:
    """Return a done snapshot's report (kept parsed in memory for the latest few).

    The cache key is the id *and* the inputs digest: ids of deleted rows can come back
    (SQLite reuses them), digests tell reports apart.
    """
    if snapshot is None or snapshot.status != "done":
        return None
    key = (snapshot.id, snapshot.inputs_digest)
    with _cache_lock:
        if key in _report_cache:
            _report_cache.move_to_end(key)
            return _report_cache[key]
    rv = snapshot.report
    with _cache_lock:
        _report_cache[key] = rv
        while len(_report_cache) > _CACHE_SIZE:
            _report_cache.popitem(last=False)
    return rv


def _snapshots(community_id: int, scope: str) -> sa.Select:
    return sa.select(NetworkSnapshot).where(
        NetworkSnapshot.community_id == community_id,
        NetworkSnapshot.inputs_digest.startswith(PREFIX[scope]),
    )


def latest_done_id_query(
    community_id: int, scope: str, *, before: datetime | None = None
) -> sa.Select:
    """Select the id of the newest finished snapshot (optionally created before a time)."""
    query = (
        _snapshots(community_id, scope)
        .with_only_columns(NetworkSnapshot.id)
        .where(NetworkSnapshot.status == "done")
    )
    if before is not None:
        query = query.where(NetworkSnapshot.created_at <= before)
    return query.order_by(NetworkSnapshot.created_at.desc(), NetworkSnapshot.id.desc()).limit(1)


def latest_done_id(community_id: int, scope: str, *, before: datetime | None = None) -> int | None:
    """Return the id of the newest finished snapshot (optionally created before a time)."""
    return db.session.scalar(latest_done_id_query(community_id, scope, before=before))


def latest_report(community_id: int, scope: str) -> dict[str, Any] | None:
    """Return the newest finished report of a community in a scope (one query when cached)."""
    row = db.session.execute(
        latest_done_id_query(community_id, scope).add_columns(NetworkSnapshot.inputs_digest)
    ).first()
    if row is None:
        return None
    with _cache_lock:
        if tuple(row) in _report_cache:
            _report_cache.move_to_end(tuple(row))
            return _report_cache[tuple(row)]
    return report_of(db.session.get(NetworkSnapshot, row[0]))


def month_ago_report(community_id: int, scope: str, now: datetime | None = None) -> dict | None:
    """Return the report of about a month ago (the newest at least 28 days old)."""
    before = (now or utcnow()) - timedelta(days=28)
    snapshot_id = latest_done_id(community_id, scope, before=before)
    return report_of(db.session.get(NetworkSnapshot, snapshot_id)) if snapshot_id else None


@dataclass
class ReportState:
    """What a page shows: the report (maybe stale), and the job computing a fresh one."""

    snapshot: NetworkSnapshot | None
    report: dict[str, Any] | None
    is_current: bool
    pending: NetworkSnapshot | None = None
    scope: str = PUBLIC

    @property
    def progress(self) -> float:
        if self.pending is not None:
            return self.pending.progress
        return 1.0 if self.is_current else 0.0


def done_snapshot(community_id: int, digest: str) -> NetworkSnapshot | None:
    """Return the finished snapshot computed from these inputs, if any."""
    return db.session.scalar(
        sa.select(NetworkSnapshot)
        .where(
            NetworkSnapshot.community_id == community_id,
            NetworkSnapshot.inputs_digest == digest,
            NetworkSnapshot.status == "done",
        )
        .order_by(NetworkSnapshot.id.desc())
        .limit(1)
    )


def pending_snapshot(community_id: int, digest: str) -> NetworkSnapshot | None:
    """Return the snapshot a job is computing from these inputs (none when stale)."""
    return db.session.scalar(
        sa.select(NetworkSnapshot)
        .where(
            NetworkSnapshot.community_id == community_id,
            NetworkSnapshot.inputs_digest == digest,
            NetworkSnapshot.status.in_(("pending", "running")),
            NetworkSnapshot.created_at >= utcnow() - STALE_PENDING,
        )
        .order_by(NetworkSnapshot.id.desc())
        .limit(1)
    )


def report_state(community: Community, scope: str) -> ReportState:
    """Return what a page shows of a community's report; write nothing.

    The stored report of the current inputs when there is one. Otherwise a job is asked to
    compute and store it (see :func:`request_refresh`), and meanwhile small communities (up
    to ``NETWORK_SYNC_MAX_NODES`` stakeholders, or any size in ``inline`` mode) get a
    report computed now and not stored, larger ones the latest stored report with the
    progress of the job.
    """
    digest, n_nodes = fingerprint(community, scope)
    current = done_snapshot(community.id, digest)
    if current is not None:
        return ReportState(current, report_of(current), True, scope=scope)
    pending = pending_snapshot(community.id, digest)
    if pending is None:
        request_refresh(community.id, scope)
    limit = current_app.config.get("NETWORK_SYNC_MAX_NODES", 2000)
    if n_nodes <= limit or job_mode() == "inline":
        return ReportState(None, compute(community, scope), True, scope=scope)
    latest_id = latest_done_id(community.id, scope)
    latest = db.session.get(NetworkSnapshot, latest_id) if latest_id else None
    return ReportState(latest, report_of(latest), False, pending=pending, scope=scope)


def report_status(community: Community, scope: str) -> tuple[str, float]:
    """Return the status of a community's current report (done, pending, running or
    stale) and the progress of the job computing it."""
    digest, _n = fingerprint(community, scope)
    if done_snapshot(community.id, digest) is not None:
        return "done", 1.0
    pending = pending_snapshot(community.id, digest)
    if pending is None:
        return "stale", 0.0
    return pending.status, pending.progress


def request_refresh(community_id: int, scope: str) -> None:
    """Ask a background job (RQ or a thread) to store a fresh report; nothing is written here.

    In the ``inline`` and ``off`` modes nothing runs: pages compute what they show, and
    :func:`refresh` stores reports (jobs, tests, the demo).
    """
    if job_mode() in ("rq", "thread"):
        schedule(community_id, scope)


def _compute_and_store(
    community: Community, scope: str, digest: str, snapshot: NetworkSnapshot | None = None
) -> tuple[NetworkSnapshot, dict[str, Any], int | None]:
    """Compute the report into a snapshot, committing its progress; return the snapshot, the
    report and the id of the previous finished snapshot. The job's last commit is the
    caller's."""
    if snapshot is None:
        snapshot = NetworkSnapshot(community_id=community.id, inputs_digest=digest)
        db.session.add(snapshot)
    snapshot.inputs_digest = digest
    snapshot.status, snapshot.progress = "running", 0.0
    db.session.commit()
    last = [0.0]

    def progress(fraction: float) -> None:
        if fraction - last[0] >= 0.1:
            last[0] = fraction
            snapshot.progress = round(fraction, 3)
            db.session.commit()

    try:
        report = compute(community, scope, progress=progress, loaded=db.session.commit)
    except Exception:
        log.exception("network report of community %s failed", community.id)
        db.session.rollback()
        snapshot.status = "failed"
        db.session.commit()
        raise
    previous_id = latest_done_id(community.id, scope)
    snapshot.report = report
    snapshot.status, snapshot.progress, snapshot.finished_at = "done", 1.0, utcnow()
    db.session.flush()
    _prune(community.id, scope, keep=snapshot.id)
    return snapshot, report, previous_id


def refresh(
    community: Community | int, scope: str, snapshot_id: int | None = None
) -> NetworkSnapshot:
    """Bring a community's report in a scope up to date now and commit (the body of every
    job; tests and the demo call it too)."""
    if not isinstance(community, Community):
        community = db.session.get(Community, community)
        if community is None:
            raise DomainError(_("There is nothing at this address."), status=404)
    digest, _n = fingerprint(community, scope)
    snapshot = db.session.get(NetworkSnapshot, snapshot_id) if snapshot_id else None
    done = done_snapshot(community.id, digest)
    if done is not None:
        if snapshot is not None and snapshot.id != done.id and snapshot.status != "done":
            db.session.delete(snapshot)
            db.session.commit()
        return done
    rv, report, previous_id = _compute_and_store(community, scope, digest, snapshot)
    db.session.commit()
    if scope == MANAGERS and previous_id is not None:
        previous = report_of(db.session.get(NetworkSnapshot, previous_id))
        if previous is not None and _announce(community.id, rv, previous, report):
            db.session.commit()
    return rv


def _prune(community_id: int, scope: str, *, keep: int, now: datetime | None = None) -> None:
    """Keep the newest 3 finished snapshots and the newest of each day for 60 days."""
    now = now or utcnow()
    rows = db.session.execute(
        _snapshots(community_id, scope)
        .with_only_columns(NetworkSnapshot.id, NetworkSnapshot.created_at, NetworkSnapshot.status)
        .order_by(NetworkSnapshot.created_at.desc(), NetworkSnapshot.id.desc())
    ).all()
    kept_days: set = set()
    drop = []
    done_seen = 0
    for sid, created, status in rows:
        if sid == keep:
            continue
        if status in ("pending", "running"):
            if created < now - STALE_PENDING:
                drop.append(sid)
            continue
        if status == "failed":
            drop.append(sid)
            continue
        done_seen += 1
        day = created.date()
        if done_seen <= 2 or (created >= now - timedelta(days=60) and day not in kept_days):
            kept_days.add(day)
            continue
        drop.append(sid)
    if drop:
        db.session.execute(sa.delete(NetworkSnapshot).where(NetworkSnapshot.id.in_(drop)))


def store_report(community: Community, scope: str, report: dict, created_at: datetime) -> None:
    """Store a report computed for an earlier time (the demo's month-old report)."""
    db.session.add(
        NetworkSnapshot(
            community_id=community.id,
            inputs_digest=_digest(scope, report["as_of"]),
            status="done",
            progress=1.0,
            report=report,
            created_at=created_at,
            finished_at=created_at,
        )
    )


# -- Alerts -----------------------------------------------------------------------------------


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list]:
    """Return the conflicts and unbalanced triads of `new` that `old` did not have."""
    old_negative = {tuple(p) for p in old.get("negative_pairs", [])}
    old_triads = {tuple(t["nodes"]) for t in old.get("triads", [])}
    return {
        "conflicts": [
            tuple(p) for p in new.get("negative_pairs", []) if tuple(p) not in old_negative
        ],
        "triads": [t for t in new.get("triads", []) if tuple(t["nodes"]) not in old_triads],
    }


def _announce(community_id: int, snapshot: NetworkSnapshot, old: dict, new: dict) -> bool:
    """Send `network_changed` when `new` has new conflicts or triads; tell whether a
    receiver wrote something (the job then commits it)."""
    changes = diff_reports(old, new)
    if not changes["conflicts"] and not changes["triads"]:
        return False
    results = network_changed.send(
        community_id,
        snapshot=snapshot,
        new_conflicts=changes["conflicts"],
        new_triads=changes["triads"],
    )
    return any(rv for _fn, rv in results)


# -- Background jobs --------------------------------------------------------------------------

#: Running thread jobs; a value (snapshot id,) asks the running job to go once more.
_inflight: dict[tuple[int, str], tuple[int | None] | None] = {}
_inflight_lock = threading.Lock()


def job_mode(app: Flask | None = None) -> str:
    """Return how background work runs: rq, thread, inline or off."""
    config = (app or current_app).config
    mode = config.get("NETWORK_JOBS")
    if mode:
        return mode
    if jobs.mode(app) == "rq":
        return "rq"
    return "off" if config.get("TESTING") else "thread"


def schedule(community_id: int, scope: str, snapshot_id: int | None = None) -> None:
    """Recompute a community's report in the background (RQ or a thread; see job_mode)."""
    app = current_app._get_current_object()
    mode = job_mode(app)
    if mode == "rq":
        jobs.enqueue(
            "stakeholders.network.services.run_job",
            community_id,
            scope,
            snapshot_id,
            queue="network",
            retry=JOB_RETRY,
            timeout=3600,
            result_ttl=600,
        )
    elif mode == "thread":
        key = (community_id, scope)
        with _inflight_lock:
            if key in _inflight:
                _inflight[key] = (snapshot_id,)  # run once more when the current run ends
                return
            _inflight[key] = None
        thread = threading.Thread(
            target=_thread_main,
            args=(app, community_id, scope, snapshot_id),
            name=f"coord-network-{community_id}-{scope}",
            daemon=True,
        )
        thread.start()
    elif mode == "inline":
        refresh(community_id, scope, snapshot_id)


def _thread_main(app: Flask, community_id: int, scope: str, snapshot_id: int | None) -> None:
    key = (community_id, scope)
    while True:
        try:
            with app.app_context():
                refresh(community_id, scope, snapshot_id)
                db.session.remove()
        except Exception:
            log.exception("background network job failed")
        with _inflight_lock:
            again = _inflight.get(key)
            if again is None:
                _inflight.pop(key, None)
                return
            _inflight[key] = None
        snapshot_id = again[0]


def run_job(community_id: int, scope: str, snapshot_id: int | None = None) -> int:
    """The RQ job (run by `coord.jobs.run_in_app`): refresh the report; return its id."""
    return refresh(community_id, scope, snapshot_id).id


def mark_dirty(community_ids: Iterable[int]) -> None:
    """Recompute these communities' managers reports after the current transaction commits."""
    session = db.session()
    dirty = session.info.setdefault(_DIRTY, set())
    dirty.update(community_ids)
    session.info.setdefault(_DIRTY + "_app", current_app._get_current_object())


def forget_dirty() -> None:
    """Schedule nothing after this transaction (bulk loads such as the demo)."""
    db.session().info.pop(_DIRTY, None)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    dirty = session.info.pop(_DIRTY, None)
    app = session.info.pop(_DIRTY + "_app", None)
    if not dirty or app is None or job_mode(app) not in ("rq", "thread"):
        return
    with app.app_context():
        for community_id in sorted(dirty):
            try:
                schedule(community_id, MANAGERS)
            except Exception:
                log.exception("could not schedule the network report of %s", community_id)


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)
    session.info.pop(_DIRTY + "_app", None)


# -- Conflicts of interest --------------------------------------------------------------------


@dataclass(frozen=True)
class InterestStep:
    """One tie on a conflict-of-interest path."""

    source: int
    target: int
    type: str
    label: str
    inferred: bool = False


@dataclass(frozen=True)
class InterestPath:
    """Ties linking two stakeholders, with a one-line explanation."""

    steps: tuple[InterestStep, ...]
    explanation: str

    @property
    def hops(self) -> int:
        return len(self.steps)


def communities_of(stakeholders: list[Stakeholder]) -> set[int]:
    """Return the communities whose network shows these stakeholders (at most two queries)."""
    rv: set[int] = set()
    streets: set[int] = set()
    users = [s.user_id for s in stakeholders if s.user_id]
    for s in stakeholders:
        if s.community_id is not None:
            rv.add(s.community_id)
        elif s.kind != Kind.RESIDENT and s.street_id is not None:
            streets.add(s.street_id)
    if users:
        rv.update(
            c
            for c in db.session.scalars(
                sa.select(ResidentProfile.community_id).where(
                    ResidentProfile.user_id.in_(users),
                    ResidentProfile.status == ResidenceStatus.VERIFIED,
                )
            )
            if c is not None
        )
    if streets:
        rv.update(
            db.session.scalars(sa.select(Community.id).where(Community.street_id.in_(streets)))
        )
    return rv


#: A tie on the way between two stakeholders: (source, target, type, note, inferred).
InterestEdge = tuple[int, int, str, str | None, bool]


def conflict_of_interest(
    a_id: int,
    b_id: int,
    max_hops: int = 2,
    *,
    user: User | None = None,
    all_relations: bool = False,
) -> list[InterestPath]:
    """List the chains of membership, affiliation, contract and alliance ties linking a and b.

    Declared relations (those `user` may see, or all with `all_relations=True` for internal
    checks such as a tender's evaluation panel), active memberships and inferred alliances
    (agreement inferred from public stances) count. Each path is explained in one line.
    Residents on the way are named by their groups (and given by their group ids), except
    in internal checks (`all_relations=True`).
    """
    ends = _interest_ends(a_id, b_id, max_hops)
    edges = [
        *_declared_interest_edges(user, all_relations),
        *_membership_edges(),
        *_alliance_edges(list(ends.values())),
    ]
    names, kinds = _interest_nodes(ends, edges)
    shown: dict[int, int] = {}
    if not all_relations:
        groups = resident_groups(sid for sid, kind in kinds.items() if kind == Kind.RESIDENT.value)
        names.update({sid: label for sid, (_gid, label) in groups.items()})
        shown = {sid: gid or 0 for sid, (gid, _label) in groups.items()}
    typed, inferred_steps = _typed_steps(edges, names, kinds)
    paths = network.conflict_paths(list(kinds.items()), typed, a_id, b_id, max_hops=int(max_hops))
    return [
        InterestPath(
            tuple(
                InterestStep(
                    shown.get(s.source, s.source),
                    shown.get(s.target, s.target),
                    s.type,
                    s.label,
                    s.label in inferred_steps,
                )
                for s in p.steps
            ),
            p.explanation,
        )
        for p in paths
    ]


def _interest_ends(a_id: int, b_id: int, max_hops: int) -> dict[int, Stakeholder]:
    """Load the two stakeholders to link, refusing unknown ones and too many steps."""
    ends = {
        s.id: s
        for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_({a_id, b_id})))
    }
    for sid in (a_id, b_id):
        if sid not in ends or ends[sid].is_deleted:
            raise DomainError(_("This stakeholder does not exist or was deleted."), status=404)
    if not 1 <= int(max_hops) <= 4:
        raise DomainError(_("The number of steps must be between 1 and 4."))
    return ends


def _declared_interest_edges(user: User | None, all_relations: bool) -> list[InterestEdge]:
    """Return the live declared ties of the conflict-of-interest types that count."""
    wanted = [RelationType(t) for t in network.CONFLICT_TYPES]
    query = sa.select(
        Relation.source_id, Relation.target_id, Relation.type, Relation.note, Relation.status
    ).where(Relation.type.in_(wanted), Relation.status.in_(relations.LIVE_STATUSES))
    if not all_relations:
        query = query.where(network_permissions.visible_clause(user))
    rv: list[InterestEdge] = []
    for source, target, type_, note, status in db.session.execute(query):
        disputed = enum_value(status) == RelationStatus.DISPUTED.value
        rv.append(
            (source, target, enum_value(type_), (note or "") + ("†" if disputed else ""), False)
        )
    return rv


def _membership_edges() -> list[InterestEdge]:
    """Return the active memberships as ties from a member to its organisation."""
    rows = db.session.execute(
        sa.select(Stakeholder.id, Membership.organisation_id)
        .join(Membership, Membership.user_id == Stakeholder.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE, Stakeholder.deleted_at.is_(None))
    )
    return [(sid, org, "membership", None, False) for sid, org in rows]


def _alliance_edges(ends: list[Stakeholder]) -> list[InterestEdge]:
    """Return the inferred alliances of the public reports of the ends' communities."""
    rv: list[InterestEdge] = []
    for community_id in sorted(communities_of(ends)):
        report = latest_report(community_id, PUBLIC)
        for r in (report or {}).get("inferred", []):
            if r["sign"] > 0:
                rv.append((r["a"], r["b"], "alliance", f"{r['agreed']}/{r['shared']}", True))
    return rv


def _interest_nodes(
    ends: dict[int, Stakeholder], edges: list[InterestEdge]
) -> tuple[dict[int, str], dict[int, str]]:
    """Return the names and kinds of the stakeholders on the edges (deleted ones: no kind)."""
    ids = set(ends) | {e[0] for e in edges} | {e[1] for e in edges}
    rows = db.session.execute(
        sa.select(Stakeholder.id, Stakeholder.kind, Stakeholder.name, Stakeholder.deleted_at).where(
            Stakeholder.id.in_(ids)
        )
    ).all()
    names = {r.id: (r.name if r.deleted_at is None else _("deleted user")) for r in rows}
    kinds = {r.id: enum_value(r.kind) for r in rows if r.deleted_at is None} | {
        sid: enum_value(s.kind) for sid, s in ends.items()
    }
    return names, kinds


def _typed_steps(
    edges: list[InterestEdge], names: dict[int, str], kinds: dict[int, str]
) -> tuple[list[tuple[int, int, str, str]], set[str]]:
    """Return each tie once, labelled, and the labels of the inferred ones."""
    typed = []
    inferred_steps = set()
    seen = set()
    for source, target, type_, note, is_inferred in edges:
        if source not in kinds or target not in kinds or source == target:
            continue
        key = (*_pair(source, target), type_, is_inferred)
        if key in seen:
            continue
        seen.add(key)
        label = _step_label(names, source, target, type_, note, is_inferred)
        if is_inferred:
            inferred_steps.add(label)
        typed.append((source, target, type_, label))
    return typed, inferred_steps


def _step_label(
    names: dict[int, str], source: int, target: int, type_: str, note: str | None, inferred: bool
) -> str:
    a, b = names.get(source, "?"), names.get(target, "?")
    if inferred:
        agreed, shared = (note or "0/0").split("/")
        return _(
            "%(a)s and %(b)s usually take the same side (%(agreed)s of %(shared)s shared items)",
            a=a,
            b=b,
            agreed=agreed,
            shared=shared,
        )
    if type_ == "membership" and not note:
        return _("%(a)s is a member of %(b)s", a=a, b=b)
    disputed = bool(note) and note.endswith("†")
    note = (note or "").rstrip("†")
    rv = _("%(a)s – %(b)s: %(type)s", a=a, b=b, type=str(relations.TYPE_LABELS[type_]))
    if note:
        rv += _(" (%(note)s)", note=note)
    if disputed:
        rv += _(" [disputed]")
    return rv


# -- The individual view ----------------------------------------------------------------------

INDIVIDUAL_MINUTES = 15


def record_individual_view(actor: Any, community: Community, purpose: str) -> datetime:
    """Let a network manager see the community's residents one by one for a stated purpose:
    record the reading in the audit trail; return until when the view is granted."""
    if not network_permissions.is_network_manager(actor.user, community):
        raise NotAllowed(
            _("Only the residents committee and the street office may see residents one by one.")
        )
    until = utcnow() + timedelta(minutes=INDIVIDUAL_MINUTES)
    stakeholder_services.record_personal_data_read(
        actor,
        ("community_network", community.id),
        community.id,
        purpose,
        field="purpose",
        missing=_("Say why you need to see residents one by one."),
        extra={"until": until.isoformat()},
    )
    return until


# -- Utilities for pages ----------------------------------------------------------------------


def stakeholder_rows(ids: Iterable[int]) -> dict[int, Stakeholder]:
    """Load stakeholders by id in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        s.id: s
        for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(wanted)))
    }


def node_names(ids: Iterable[int], report: dict[str, Any] | None) -> dict[int, str]:
    """Name the nodes of a report: stakeholders by name, groups of residents by label."""
    wanted = set(ids)
    rv = {k: v for k, v in group_labels(report).items() if k in wanted}
    rows = stakeholder_rows(i for i in wanted if i > 0)
    rv.update({sid: s.name if not s.is_deleted else _("deleted user") for sid, s in rows.items()})
    return rv


def member_counts(ids: Iterable[int]) -> dict[int, int]:
    """Count the active members of organisations (one query)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(Membership.organisation_id, sa.func.count())
        .where(Membership.organisation_id.in_(wanted), Membership.status == MembershipStatus.ACTIVE)
        .group_by(Membership.organisation_id)
    )
    return {org: int(n) for org, n in rows}
