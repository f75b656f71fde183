"""The conflict map and the opinion groups of a proposal, shown on every proposal page.

Conflict map: supporters (support and conditional support) and opponents, grouped —
organisations by name, residents by their groups of at least three (building, else the
rest of the community; `stakeholders.network.grouping`), never one by one — with the
interests they declared, the relations between the two sides (declared ones the viewer may
see, and inferred ones from the community's latest report) and who has ties to both. One
plain sentence sums it up: "The conflict on this proposal is between Anju Property and
residents of building 3 (5), over cost and noise; the owners committee has ties to both."

Opinion groups: Pol.is-style groups from the agree / disagree / pass matrix of the
proposal's visible comments (`stakeholders.network.opinion.opinion_groups`; a comment counts as
agreed by its author), with each group's representative statements and the bridging
statements every group agrees with — the text a compromise can be built on.

A fixed number of queries per page: one change marker (cache hit: nothing else), otherwise
positions, relations, reactions, statements and the network report. Results are cached in
memory by that marker. Added to the proposal page with `add_detail_part`; the alerts
about new conflicts among a proposal's stakeholders are in `proposals.deliberation.notify`.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from coord.db import db
from coord.text import plain_text
from proposals import lifecycle
from proposals.deliberation.models import Comment, CommentReaction, Position, Reaction
from proposals.deliberation.page import is_deliberated
from proposals.deliberation.stances import raw_rows
from proposals.models import Proposal
from proposals.viewer import Viewer
from proposals.vocabulary import INTERESTS
from stakeholders.models import (
    Relation,
    ResidenceStatus,
    ResidentProfile,
    Stakeholder,
)
from stakeholders.network import permissions as network_permissions
from stakeholders.network import relations
from stakeholders.network import services as network_service
from stakeholders.network.opinion import OpinionReport, opinion_groups
from stakeholders.network.report import join

MAX_LISTED = 30
MAX_BETWEEN = 12
MAX_GROUP_MEMBERS = 2000
MAP_POINTS = 400
MAP_SIZE = 300
CACHE_SIZE = 64


@dataclass
class Member:
    """A stakeholder who declared a position."""

    id: int
    name: str
    kind: str
    function: str | None
    building: str | None
    stance: str
    interests: list[str]
    group: int | None = None  # the group of residents standing for a resident


@dataclass
class Group:
    """Stakeholders of one side that belong together: an organisation, a group of residents."""

    key: tuple
    name: str | None
    record: dict[str, Any] | None = None  # the group of residents (see network_service)
    members: list[int] = field(default_factory=list)
    interests: Counter = field(default_factory=Counter)


@dataclass
class MapData:
    """The language-neutral result, cached by the proposal's change marker."""

    sides: dict[str, list[Group]]
    members: dict[int, Member]
    counts: dict[str, int]
    between: list[dict[str, Any]]
    bridges: list[tuple[int, str, float]]
    opinion: dict[str, Any] | None
    pair: tuple[list[Group], list[Group], str] | None = None
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)


_cache: OrderedDict[tuple, MapData] = OrderedDict()
_opinion_cache: OrderedDict[tuple, dict[str, Any] | None] = OrderedDict()
_lock = threading.Lock()


@lru_cache(maxsize=4096)
def _interest_list(value: str | tuple) -> list[str]:
    items = json.loads(value) if isinstance(value, str) else value
    return [i for i in items or () if i in INTERESTS]


def _interests_of(value: Any) -> list[str]:
    """Known interests of a JSON list column (text on SQLite, decoded on PostgreSQL)."""
    if value is None:
        return []
    return _interest_list(value if isinstance(value, str) else tuple(value))


def _marker(proposal: Proposal, scope: str) -> tuple:
    """One query: what changes whenever the map could change."""
    pid = proposal.id
    community = proposal.community
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count()).where(Position.proposal_id == pid).scalar_subquery(),
            sa.select(sa.func.max(Position.updated_at))
            .where(Position.proposal_id == pid)
            .scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(CommentReaction)
            .where(CommentReaction.proposal_id == pid)
            .scalar_subquery(),
            sa.select(sa.func.max(CommentReaction.updated_at))
            .where(CommentReaction.proposal_id == pid)
            .scalar_subquery(),
            sa.select(sa.func.max(CommentReaction.id))
            .where(CommentReaction.proposal_id == pid)
            .scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(Comment)
            .where(
                Comment.proposal_id == pid,
                Comment.deleted_at.is_(None),
                Comment.hidden_reason.is_(None),
            )
            .scalar_subquery(),
            sa.select(sa.func.max(Comment.id)).where(Comment.proposal_id == pid).scalar_subquery(),
            sa.select(sa.func.max(Relation.updated_at))
            .where(relations.community_relations_clause(community))
            .scalar_subquery(),
            network_service.latest_done_id_query(community.id, scope).scalar_subquery(),
        )
    ).one()
    return (pid, scope, *(str(v) for v in row))


def _people(proposal: Proposal, extra: set[int] | None = None) -> dict[int, Member]:
    """Load those who declared a position (or, with `extra`, these stakeholders): one query."""
    query = sa.select(
        Stakeholder.id,
        Stakeholder.name,
        Stakeholder.kind,
        Stakeholder.function,
        Stakeholder.deleted_at,
        ResidentProfile.building,
    ).outerjoin(
        ResidentProfile,
        sa.and_(
            ResidentProfile.user_id == Stakeholder.user_id,
            ResidentProfile.status == ResidenceStatus.VERIFIED,
            ResidentProfile.community_id == proposal.community_id,
        ),
    )
    if extra is None:
        query = (
            query.add_columns(Position.stance, Position.interests)
            .join(Position, Position.stakeholder_id == Stakeholder.id)
            .where(Position.proposal_id == proposal.id)
            .order_by(Position.id)
        )
    else:
        query = query.add_columns(sa.null(), sa.null()).where(Stakeholder.id.in_(extra))
    rv = {}
    for sid, name, kind, function, deleted, building, stance, interests in raw_rows(query):
        rv[sid] = Member(
            sid,
            name if deleted is None else "",
            kind,
            function or None,
            building or None,
            stance or "",
            _interests_of(interests),
        )
    return rv


def _group_key(m: Member) -> tuple:
    if m.kind != "resident":
        return ("org", m.id)
    if m.group is not None:
        return ("group", m.group)
    return ("residents",)


def _groups(members: list[Member], records: dict[int, dict[str, Any]]) -> list[Group]:
    """Group one side: organisations alone, residents by their groups; largest first."""
    found: dict[tuple, Group] = {}
    for m in members:
        key = _group_key(m)
        group = found.get(key)
        if group is None:
            group = found[key] = Group(
                key,
                m.name if key[0] == "org" else None,
                records.get(key[1]) if key[0] == "group" else None,
            )
        group.members.append(m.id)
        group.interests.update(m.interests)
    return sorted(found.values(), key=lambda g: (-len(g.members), g.key[0] != "org", str(g.key)))


def _sides(
    members: dict[int, Member], records: dict[int, dict[str, Any]]
) -> dict[str, list[Group]]:
    by_stance: dict[str, list[Member]] = {"support": [], "conditional": [], "oppose": []}
    for m in members.values():
        if m.stance in by_stance:
            by_stance[m.stance].append(m)
    return {side: _groups(ms, records) for side, ms in by_stance.items()}


def _grouped(
    members: dict[int, Member], groups: network_service.Groups
) -> dict[int, dict[str, Any]]:
    """Set each resident member's group; return the groups' records by id."""
    for m in members.values():
        if m.kind == "resident":
            m.group = groups.group_of.get(m.id)
    return {g["id"]: g for g in groups.records()}


def _relabel_ties(
    ties: list[dict[str, Any]], group_of: dict[int, int | None]
) -> list[dict[str, Any]]:
    """Let groups stand for the residents at the ends of ties (ties inside a group dropped)."""
    rv = []
    for t in ties:
        a, b = (
            group_of.get(x) if x in group_of or x in t.get("residents", ()) else x
            for x in (t["a"], t["b"])
        )
        if a is not None and b is not None and a != b:
            rv.append({**t, "a": a, "b": b, "names": {}})
    return rv


def _declared_ties(proposal: Proposal, scope: str, people: sa.Select) -> list[dict[str, Any]]:
    """Declared relations touching one of `people` (a select of stakeholder ids): one query."""
    source = sa.orm.aliased(Stakeholder)
    target = sa.orm.aliased(Stakeholder)
    query = (
        sa.select(
            Relation.source_id,
            Relation.target_id,
            Relation.type,
            Relation.sign,
            Relation.strength,
            Relation.status,
            source.name,
            target.name,
            source.kind,
            target.kind,
        )
        .join(source, source.id == Relation.source_id)
        .join(target, target.id == Relation.target_id)
        .where(
            sa.or_(Relation.source_id.in_(people), Relation.target_id.in_(people)),
            Relation.status.in_(relations.LIVE_STATUSES),
            relations.community_relations_clause(proposal.community),
            source.deleted_at.is_(None),
            target.deleted_at.is_(None),
        )
    )
    if scope != network_service.MANAGERS:
        query = query.where(Relation.visibility == "public")
    rv = []
    for s, t, type_, sign, strength, status, s_name, t_name, s_kind, t_kind in raw_rows(query):
        factor = network_service.DISPUTED_FACTOR if status == "disputed" else 1.0
        rv.append(
            {
                "a": s,
                "b": t,
                "type": type_,
                "sign": sign,
                "weight": strength * factor,
                "origin": "declared",
                "names": {s: s_name, t: t_name},
                "residents": [x for x, k in ((s, s_kind), (t, t_kind)) if k == "resident"],
            }
        )
    return rv


def _inferred_ties(report: dict[str, Any] | None, members: set[int]) -> list[dict[str, Any]]:
    rv = []
    for r in (report or {}).get("inferred", []):
        if r["a"] in members or r["b"] in members:
            rv.append(
                {
                    "a": r["a"],
                    "b": r["b"],
                    "type": "inferred",
                    "sign": r["sign"],
                    "weight": network_service.INFERRED_SCALE * r["weight"],
                    "origin": "inferred",
                    "agreed": r["agreed"],
                    "disagreed": r["disagreed"],
                    "shared": r["shared"],
                }
            )
    return rv


def _votes(proposal: Proposal) -> list[tuple[int, int, int]]:
    """The opinion matrix of a proposal's visible comments: (stakeholder, comment, vote).

    A comment counts as agreed by its author; reactions count 1, -1 or 0. Two queries.
    """
    visible = sa.and_(
        Comment.proposal_id == proposal.id,
        Comment.deleted_at.is_(None),
        Comment.hidden_reason.is_(None),
    )
    authors = raw_rows(sa.select(Comment.actor_id, Comment.id).where(visible))
    if not authors:
        return []
    value = sa.case(
        (CommentReaction.value == Reaction.AGREE.value, 1),
        (CommentReaction.value == Reaction.DISAGREE.value, -1),
        else_=0,
    )
    reactions = raw_rows(
        sa.select(CommentReaction.actor_id, CommentReaction.comment_id, value).where(
            CommentReaction.proposal_id == proposal.id,
            CommentReaction.comment_id.in_({c for _a, c in authors}),
        )
    )
    return [(a, c, 1) for a, c in authors] + list(reactions)


def _map_points(report: OpinionReport) -> list[tuple[float, float, int, int, float]]:
    """Scale a sample of the participants' coordinates onto the drawing, by group."""
    group_of = {m: i for i, g in enumerate(report.groups) for m in g.members}
    coords = list(report.coordinates.items())
    step = max(1, len(coords) // MAP_POINTS)
    sample = coords[::step][:MAP_POINTS]
    xs = [x for _p, (x, _y) in coords]
    ys = [y for _p, (_x, y) in coords]
    x0, y0 = min(xs), min(ys)
    span = max(max(xs) - x0, max(ys) - y0, 1e-9)
    pad = 14

    def scale(v: float, lo: float) -> float:
        return round(pad + (v - lo) / span * (MAP_SIZE - 2 * pad), 1)

    return _stack([(scale(x, x0), scale(y, y0), group_of.get(p, 0)) for p, (x, y) in sample])


def _opinion(proposal: Proposal) -> dict[str, Any] | None:
    """The proposal's opinion groups, their statements and the bridging ones (or None)."""
    votes = _votes(proposal)
    if not votes:
        return None
    report = opinion_groups(votes)
    if report.k < 2 or len(report.coordinates) < 4:
        return {
            "participants": len(report.coordinates),
            "groups": [],
            "consensus": [],
            "points": [],
        }
    statements = {s.statement for g in report.groups for s in g.representative[:3]} | {
        c.statement for c in report.consensus[:5]
    }
    texts = _statement_texts(statements)
    return {
        "participants": len(report.coordinates),
        "excluded": len(report.excluded),
        "groups": [
            {
                "size": len(g.members),
                "members": sorted(g.members)[:MAX_GROUP_MEMBERS],
                "statements": [
                    {
                        "id": s.statement,
                        "text": texts.get(s.statement, ""),
                        "direction": s.direction,
                        "rate": round(s.rate, 2),
                    }
                    for s in g.representative[:3]
                    if s.statement in texts
                ],
            }
            for g in report.groups
        ],
        "consensus": [
            {
                "id": c.statement,
                "text": texts.get(c.statement, ""),
                "direction": c.direction,
                "mean": round(c.mean, 2),
            }
            for c in report.consensus[:5]
            if c.direction == "agree" and c.statement in texts
        ],
        "points": _map_points(report),
    }


def _stack(points: list[tuple[float, float, int]]) -> list[tuple[float, float, int, int, float]]:
    """Merge participants drawn on the same spot: (x, y, group, how many, radius)."""
    counts: Counter = Counter((round(x), round(y), g) for x, y, g in points)
    return [(x, y, g, n, round(4 + 2.5 * (n - 1) ** 0.5, 1)) for (x, y, g), n in counts.items()]


def _statement_texts(ids: set) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Comment.id, Comment.body_html).where(Comment.id.in_(ids)))
    return {cid: plain_text(html, 140) for cid, html in rows}


def _pair(
    sides: dict[str, list[Group]],
    members: dict[int, Member],
    opinion: dict | None,
    proposal: Proposal,
    found: network_service.Groups,
) -> tuple[list[Group], list[Group], str] | None:
    """Choose the two sides: (for, against, basis) by positions, else by opinion groups.

    Against is the opposing side, or those who support only on conditions when nobody
    opposes; without two sides of positions, the two largest opinion groups.
    """
    if sides["support"] and sides["oppose"]:
        return sides["support"], sides["oppose"], "positions"
    if sides["support"] and sides["conditional"]:
        return sides["support"], sides["conditional"], "positions"
    if sides["conditional"] and sides["oppose"]:
        return sides["conditional"], sides["oppose"], "positions"
    groups = (opinion or {}).get("groups") or []
    if len(groups) < 2:
        return None
    ids = set(groups[0]["members"]) | set(groups[1]["members"])
    people = _people(proposal, ids - set(members))
    _grouped(people, found)
    for sid in ids & set(members):
        people[sid] = members[sid]
    records = {g["id"]: g for g in found.records()}
    a = _groups([people[i] for i in groups[0]["members"] if i in people], records)
    b = _groups([people[i] for i in groups[1]["members"] if i in people], records)
    return (a, b, "opinion") if a and b else None


def compute_map(
    proposal: Proposal, scope: str, opinion: dict[str, Any] | bool | None = False
) -> MapData:
    """Compute a proposal's conflict map and opinion groups (language neutral).

    `opinion`: the opinion groups when already known (False: compute them).
    """
    members = _people(proposal)
    found = network_service.load_groups(proposal.community)
    records = _grouped(members, found)
    sides = _sides(members, records)
    if opinion is False:
        opinion = _opinion(proposal)
    pair = _pair(sides, members, opinion, proposal, found)
    report = network_service.latest_report(proposal.community_id, scope)
    people_a = {m for g in pair[0] for m in g.members} if pair else set()
    people_b = {m for g in pair[1] for m in g.members} if pair else set()
    people = sa.select(Position.stakeholder_id).where(Position.proposal_id == proposal.id)
    if people_a | people_b:
        people = sa.union(
            people, sa.select(Stakeholder.id).where(Stakeholder.id.in_(people_a | people_b))
        )
    group_of = found.group_of

    def stand_in(ids: set[int]) -> set[int]:
        return {g for g in (group_of.get(i, i) for i in ids) if g is not None}

    side_a, side_b = stand_in(people_a), stand_in(people_b)
    involved = stand_in(set(members)) | side_a | side_b
    ties = _relabel_ties(_declared_ties(proposal, scope, people), group_of)
    ties += _inferred_ties(report, involved)
    between = [
        t
        for t in ties
        if (t["a"] in side_a and t["b"] in side_b) or (t["a"] in side_b and t["b"] in side_a)
    ]
    between.sort(key=lambda t: (-t["weight"], t["a"], t["b"]))
    main_a = stand_in(set(pair[0][0].members)) if pair else set()
    main_b = stand_in(set(pair[1][0].members)) if pair else set()
    reach: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    names: dict[int, str] = {m.id: m.name for m in members.values() if m.kind != "resident"}
    for t in ties:
        names.update(t.get("names", {}))
        if t["sign"] <= 0:
            continue
        for x, y in ((t["a"], t["b"]), (t["b"], t["a"])):
            if y in main_a and x not in main_a:
                reach[x][0] += t["weight"]
            if y in main_b and x not in main_b:
                reach[x][1] += t["weight"]
    bridges = [
        (x, names.get(x, ""), a + b)
        for x, (a, b) in reach.items()
        if a > 0 and b > 0 and x not in main_a and x not in main_b
    ]
    missing = [x for x, name, _w in bridges if not name and x > 0]
    missing += [
        x for t in between[:MAX_BETWEEN] for x in (t["a"], t["b"]) if not names.get(x) and x > 0
    ]
    if missing:
        names.update(
            db.session.execute(
                sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(missing))
            ).all()
        )
        bridges = [(x, names.get(x, ""), w) for x, _name, w in bridges]
    bridges.sort(key=lambda b: (-b[2], b[0]))
    for t in between[:MAX_BETWEEN]:
        t["names"] = {t["a"]: names.get(t["a"], ""), t["b"]: names.get(t["b"], "")}
    return MapData(
        sides=sides,
        members=members,
        counts={side: sum(len(g.members) for g in groups) for side, groups in sides.items()},
        between=between[:MAX_BETWEEN],
        bridges=bridges[:3],
        opinion=opinion,
        pair=pair,
        groups=records,
    )


def map_data(proposal: Proposal, scope: str) -> MapData:
    """Return the proposal's map, from the cache when nothing changed.

    The opinion groups are cached apart, keyed by the comments and reactions only, so that
    a new position or relation does not recompute them (and a new reaction reuses nothing
    else of the map but is cheap to redo).
    """
    key = _marker(proposal, scope)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        opinion_key = (key[0], *key[4:9])
        opinion = _opinion_cache.get(opinion_key, False)
    if opinion is False:
        opinion = _opinion(proposal)
    rv = compute_map(proposal, scope, opinion)
    with _lock:
        _cache[key] = rv
        _opinion_cache[opinion_key] = opinion
        for cache in (_cache, _opinion_cache):
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    return rv


# -- Sentences --------------------------------------------------------------------------------


def group_label(group: Group) -> str:
    """Name a group for a sentence: an organisation by name, residents by their group."""
    if group.name:
        return group.name
    if group.record is not None:
        return network_service.group_label(group.record)
    if group.key[0] == "org":
        return _("deleted user")
    return _("residents")


def side_label(groups: list[Group]) -> str:
    """Name a side by its largest group ("… and others" when that is less than half of it)."""
    if not groups:
        return ""
    total = sum(len(g.members) for g in groups)
    label = group_label(groups[0])
    if groups[0].record is not None:
        label = _lower(label)
    if len(groups[0].members) * 2 < total:
        return _("%(group)s and others", group=label)
    return label


def _interests(pro: list[Group], contra: list[Group]) -> list[str]:
    """The interests at stake: the objections first (at most two)."""
    for side in (contra, pro):
        counts: Counter = Counter()
        for g in side[:2]:
            counts.update(g.interests)
        if counts:
            return [k for k, _n in counts.most_common(2)]
    return []


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def summary_sentence(data: MapData) -> str | None:
    """One plain sentence: between whom the conflict is, over what, and who links them."""
    counts = data.counts
    if data.pair is None:
        if not any(counts.values()):
            return None
        if counts["oppose"] == 0:
            return _("Everyone who declared a position supports this proposal.")
        return _("Everyone who declared a position opposes this proposal.")
    pro, contra, _basis = data.pair
    first, second = (contra, pro) if contra[0].key[0] == "org" != pro[0].key[0] else (pro, contra)
    a, b = side_label(first), side_label(second)
    if a == b:
        a, b = _("its supporters"), _("its opponents")
    rv = _("The conflict on this proposal is between %(a)s and %(b)s", a=a, b=b)
    labels = [_lower(_(INTERESTS[k])) for k in _interests(pro, contra)]
    if labels:
        rv += _(", over %(interests)s", interests=join(labels))
    names = [n for x, name, _w in data.bridges[:2] if (n := node_name(data, x, name))]
    if names:
        rv += _("; ") + ngettext(
            "%(names)s has ties to both",
            "%(names)s have ties to both",
            len(names),
            names=join(names),
        )
    return rv + _(".")


def node_name(data: MapData, sid: int, name: str | None) -> str | None:
    """Name an end of a tie: a stakeholder by its name, a group of residents by its label."""
    if sid < 0:
        record = data.groups.get(sid)
        return network_service.group_label(record) if record else None
    return name


def context(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """The proposal page's part: map, sentence, relations between sides, opinion groups."""
    if not (lifecycle.is_public(proposal.kind, proposal.status) and is_deliberated(proposal)):
        return None
    scope = (
        network_service.MANAGERS
        if viewer.user is not None
        and network_permissions.is_network_manager(viewer.user, proposal.community)
        else network_service.PUBLIC
    )
    data = map_data(proposal, scope)
    if not data.members and not data.opinion:
        return {"empty": True, "community_id": proposal.community_id}
    between = []
    for t in data.between:
        names = t.get("names", {})
        if t["origin"] == "declared":
            what = str(relations.TYPE_LABELS.get(t["type"], t["type"]))
        elif t["sign"] > 0:
            what = _(
                "usually agree (%(agreed)d of %(shared)d)", agreed=t["agreed"], shared=t["shared"]
            )
        else:
            what = _(
                "usually disagree (%(disagreed)d of %(shared)d)",
                disagreed=t["disagreed"],
                shared=t["shared"],
            )
        between.append(
            {
                "a": t["a"],
                "b": t["b"],
                "a_name": node_name(data, t["a"], names.get(t["a"])),
                "b_name": node_name(data, t["b"], names.get(t["b"])),
                "sign": t["sign"],
                "what": what,
            }
        )
    return {
        "empty": False,
        "community_id": proposal.community_id,
        "sentence": summary_sentence(data),
        "basis": data.pair[2] if data.pair else None,
        "sides": {
            side: [
                {
                    "label": group_label(g),
                    "size": len(g.members),
                    "url": url_for("stakeholders.profile", stakeholder_id=g.members[0])
                    if g.key[0] == "org"
                    else None,
                    "interests": [_(INTERESTS[k]) for k, _n in g.interests.most_common(4)],
                }
                for g in groups[:MAX_LISTED]
            ]
            for side, groups in data.sides.items()
        },
        "counts": data.counts,
        "between": between,
        "bridges": [(x, node_name(data, x, name)) for x, name, _w in data.bridges],
        "opinion": data.opinion,
        "map_size": MAP_SIZE,
    }
