"""The conflict map and the opinion groups of a proposal, shown on every proposal page.

Conflict map: supporters (support and conditional support) and opponents, grouped —
organisations by name, residents by building — with the interests they declared, the
relations between the two sides (declared ones the viewer may see, and inferred ones from
the community's latest report) and who has ties to both. One plain sentence sums it up:
"The conflict on this proposal is between Anju Property and the residents of building 3,
over cost and noise; the owners committee has ties to both."

Opinion groups: Pol.is-style groups from the agree / disagree / pass matrix of the
proposal's visible comments (`stakeholders.opinion.opinion_groups`; a comment counts as
agreed by its author), with each group's representative statements and the bridging
statements every group agrees with — the text a compromise can be built on.

A fixed number of queries per page: one change marker (cache hit: nothing else), otherwise
positions, relations, reactions, statements and the network report. Results are cached in
memory by that marker. Added to the proposal page with `add_detail_part`; its alerts
receiver notifies moderators when a new conflict or strained alliance appears among the
stakeholders active on a proposal under deliberation.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from werkzeug.routing import BuildError

from coord.db import db
from coord.models import User
from coord.notifications import N_, Note, notify, register_kind
from proposals import lifecycle
from proposals.models import (
    Comment,
    CommentReaction,
    Position,
    PositionStance,
    Proposal,
    Reaction,
)
from proposals.viewer import Viewer
from proposals.views import add_detail_part
from proposals.vocabulary import INTERESTS
from stakeholders import network_service, relations
from stakeholders.models import (
    Function,
    Membership,
    MembershipStatus,
    Relation,
    ResidenceStatus,
    ResidentProfile,
    Stakeholder,
)
from stakeholders.network_report import join
from stakeholders.opinion import opinion_groups

SUPPORT = (PositionStance.SUPPORT, PositionStance.CONDITIONAL)
OPPOSE = (PositionStance.OPPOSE,)
MAX_LISTED = 30
MAX_BETWEEN = 12
MAP_POINTS = 400
MAP_SIZE = 300
CACHE_SIZE = 64
REACTION_VALUES = {Reaction.AGREE: 1, Reaction.DISAGREE: -1, Reaction.PASS: 0}

ALERT = "network_alert"
register_kind(ALERT, N_("New conflicts among the stakeholders of proposals I moderate"))
ALERT_CONFLICT = N_("New conflict on “%(title)s”: %(a)s and %(b)s.")
ALERT_TRIAD = N_(
    "Strained alliance on “%(title)s”: %(b)s and %(c)s are in conflict; %(m)s has ties to both."
)


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


@dataclass
class Group:
    """Stakeholders of one side that belong together: an organisation, a building's residents."""

    key: tuple
    name: str | None
    building: str | None
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


_cache: OrderedDict[tuple, MapData] = OrderedDict()
_lock = threading.Lock()


def _value(x: Any) -> Any:
    return x.value if hasattr(x, "value") else x


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


def _positions(proposal: Proposal) -> dict[int, Member]:
    rows = db.session.execute(
        sa.select(
            Stakeholder.id,
            Stakeholder.name,
            Stakeholder.kind,
            Stakeholder.function,
            Stakeholder.deleted_at,
            Position.stance,
            Position.interests,
            ResidentProfile.building,
        )
        .join(Position, Position.stakeholder_id == Stakeholder.id)
        .outerjoin(
            ResidentProfile,
            sa.and_(
                ResidentProfile.user_id == Stakeholder.user_id,
                ResidentProfile.status == ResidenceStatus.VERIFIED,
                ResidentProfile.community_id == proposal.community_id,
            ),
        )
        .where(Position.proposal_id == proposal.id)
        .order_by(Position.id)
    )
    rv = {}
    for sid, name, kind, function, deleted, stance, interests, building in rows:
        rv[sid] = Member(
            sid,
            name if deleted is None else "",
            _value(kind),
            _value(function) if function else None,
            building or None,
            _value(stance),
            [i for i in (interests or []) if i in INTERESTS],
        )
    return rv


def _group_key(m: Member) -> tuple:
    if m.kind != "resident":
        return ("org", m.id)
    if m.building:
        return ("building", m.building)
    return ("residents",)


def _sides(members: dict[int, Member]) -> dict[str, list[Group]]:
    rv: dict[str, dict[tuple, Group]] = {"support": {}, "oppose": {}}
    for m in members.values():
        side = (
            "support"
            if m.stance in {s.value for s in SUPPORT}
            else "oppose"
            if m.stance in {s.value for s in OPPOSE}
            else None
        )
        if side is None:
            continue
        key = _group_key(m)
        group = rv[side].get(key)
        if group is None:
            group = rv[side][key] = Group(
                key,
                m.name if key[0] == "org" else None,
                m.building if key[0] == "building" else None,
            )
        group.members.append(m.id)
        group.interests.update(m.interests)
    return {
        side: sorted(
            groups.values(), key=lambda g: (-len(g.members), g.key[0] != "org", str(g.key))
        )
        for side, groups in rv.items()
    }


def _declared_ties(proposal: Proposal, scope: str) -> list[dict[str, Any]]:
    """Declared relations touching a stakeholder with a position (one query)."""
    positioned = sa.select(Position.stakeholder_id).where(Position.proposal_id == proposal.id)
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
            source.kind,
            target.name,
            target.kind,
        )
        .join(source, source.id == Relation.source_id)
        .join(target, target.id == Relation.target_id)
        .where(
            sa.or_(Relation.source_id.in_(positioned), Relation.target_id.in_(positioned)),
            Relation.status.in_(relations.LIVE_STATUSES),
            relations.community_relations_clause(proposal.community),
            source.deleted_at.is_(None),
            target.deleted_at.is_(None),
        )
    )
    if scope != network_service.MANAGERS:
        query = query.where(Relation.visibility == "public")
    rv = []
    for s, t, type_, sign, strength, status, s_name, s_kind, t_name, t_kind in db.session.execute(
        query
    ):
        factor = network_service.DISPUTED_FACTOR if _value(status) == "disputed" else 1.0
        rv.append(
            {
                "a": s,
                "b": t,
                "type": _value(type_),
                "sign": sign,
                "weight": strength * factor,
                "origin": "declared",
                "names": {s: s_name, t: t_name},
                "kinds": {s: _value(s_kind), t: _value(t_kind)},
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


def _opinion(proposal: Proposal) -> dict[str, Any] | None:
    visible = sa.and_(
        Comment.proposal_id == proposal.id,
        Comment.deleted_at.is_(None),
        Comment.hidden_reason.is_(None),
    )
    authors = db.session.execute(sa.select(Comment.actor_id, Comment.id).where(visible)).all()
    if not authors:
        return None
    reactions = db.session.execute(
        sa.select(CommentReaction.actor_id, CommentReaction.comment_id, CommentReaction.value)
        .join(Comment, Comment.id == CommentReaction.comment_id)
        .where(visible)
        .order_by(CommentReaction.id)
    ).all()
    votes = [(a, c, 1) for a, c in authors]
    votes.extend((a, c, REACTION_VALUES[Reaction(v)]) for a, c, v in reactions)
    report = opinion_groups(votes)
    if report.k < 2 or len(report.coordinates) < 4:
        return {
            "participants": len(report.coordinates),
            "groups": [],
            "consensus": [],
            "points": [],
        }
    statements = {s.statement for g in report.groups for s in g.representative} | {
        c.statement for c in report.consensus[:5]
    }
    texts = _statement_texts(statements)
    group_of = {m: i for i, g in enumerate(report.groups) for m in g.members}
    coords = list(report.coordinates.items())
    step = max(1, len(coords) // MAP_POINTS)
    sample = coords[::step][:MAP_POINTS]
    xs = [x for _p, (x, _y) in coords] or [0.0]
    ys = [y for _p, (_x, y) in coords] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    pad = 14

    def scale(v: float, lo: float) -> float:
        return round(pad + (v - lo) / span * (MAP_SIZE - 2 * pad), 1)

    return {
        "participants": len(report.coordinates),
        "excluded": len(report.excluded),
        "groups": [
            {
                "size": len(g.members),
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
        "points": [
            (scale(x, min(xs)), scale(y, min(ys)), group_of.get(p, 0)) for p, (x, y) in sample
        ],
    }


def _statement_texts(ids: set) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Comment.id, Comment.body_html).where(Comment.id.in_(ids)))
    rv = {}
    for cid, html in rows:
        text = Markup(html or "").striptags()  # noqa: S704 (sanitised at write time; tags dropped)
        rv[cid] = text if len(text) <= 140 else text[:139] + "…"
    return rv


def compute_map(proposal: Proposal, scope: str) -> MapData:
    """Compute a proposal's conflict map and opinion groups (language neutral)."""
    members = _positions(proposal)
    sides = _sides(members)
    ids = set(members)
    report = network_service.latest_report(proposal.community_id, scope)
    ties = _declared_ties(proposal, scope) + _inferred_ties(report, ids)
    support = {m for g in sides["support"] for m in g.members}
    oppose = {m for g in sides["oppose"] for m in g.members}
    between = [
        t
        for t in ties
        if (t["a"] in support and t["b"] in oppose) or (t["a"] in oppose and t["b"] in support)
    ]
    between.sort(key=lambda t: (-t["weight"], t["a"], t["b"]))
    main = {
        side: set(sides[side][0].members) if sides[side] else set()
        for side in ("support", "oppose")
    }
    reach: dict[int, dict[str, float]] = defaultdict(lambda: {"support": 0.0, "oppose": 0.0})
    names: dict[int, str] = {}
    for t in ties:
        if t["sign"] <= 0:
            continue
        for x, y in ((t["a"], t["b"]), (t["b"], t["a"])):
            for side in ("support", "oppose"):
                if y in main[side] and x not in main[side]:
                    reach[x][side] += t["weight"]
            if "names" in t:
                names[x] = t["names"][x]
    bridges = [
        (x, names.get(x) or (members[x].name if x in members else ""), r["support"] + r["oppose"])
        for x, r in reach.items()
        if r["support"] > 0
        and r["oppose"] > 0
        and not (x in main["support"] or x in main["oppose"])
    ]
    missing = [x for x, name, _w in bridges if not name]
    if missing:
        found = dict(
            db.session.execute(
                sa.select(Stakeholder.id, Stakeholder.name).where(Stakeholder.id.in_(missing))
            )
        )
        bridges = [(x, name or found.get(x, ""), w) for x, name, w in bridges]
    bridges.sort(key=lambda b: (-b[2], b[0]))
    for t in between[:MAX_BETWEEN]:
        for x in (t["a"], t["b"]):
            if x in members:
                names.setdefault(x, members[x].name)
        t["names"] = {t["a"]: names.get(t["a"], ""), t["b"]: names.get(t["b"], "")}
    return MapData(
        sides=sides,
        members=members,
        counts={"support": len(support), "oppose": len(oppose), "all": len(members)},
        between=between[:MAX_BETWEEN],
        bridges=bridges[:3],
        opinion=_opinion(proposal),
    )


def map_data(proposal: Proposal, scope: str) -> MapData:
    """Return the proposal's map, from the cache when nothing changed."""
    key = _marker(proposal, scope)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    rv = compute_map(proposal, scope)
    with _lock:
        _cache[key] = rv
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return rv


# -- Sentences --------------------------------------------------------------------------------


def group_label(group: Group) -> str:
    """Name a group for a sentence."""
    if group.key[0] == "org":
        return group.name or _("deleted user")
    if group.key[0] == "building":
        return _("the residents of building %(building)s", building=group.building)
    return _("residents")


def side_label(groups: list[Group]) -> str:
    """Name a side by its largest group (and the next when it is nearly as large)."""
    if not groups:
        return ""
    shown = [groups[0]]
    if len(groups) > 1 and len(groups[1].members) * 2 >= len(groups[0].members):
        shown.append(groups[1])
    return join(group_label(g) for g in shown)


def summary_sentence(data: MapData) -> str | None:
    """One plain sentence: between whom the conflict is, over what, and who links them."""
    support, oppose = data.sides["support"], data.sides["oppose"]
    if not support and not oppose:
        return None
    if not oppose:
        return _("Everyone who declared a position supports this proposal.")
    if not support:
        return _("Everyone who declared a position opposes this proposal.")
    first, second = (
        (oppose, support)
        if oppose[0].key[0] == "org" and support[0].key[0] != "org"
        else (support, oppose)
    )
    interests = first[0].interests + second[0].interests
    top = [k for k, _n in interests.most_common(3)]
    if len(top) == 3 and interests[top[2]] < interests[top[1]]:
        top = top[:2]
    labels = [_(INTERESTS[k]) for k in top]
    rv = _(
        "The conflict on this proposal is between %(a)s and %(b)s",
        a=side_label(first),
        b=side_label(second),
    )
    if labels:
        rv += _(", over %(interests)s", interests=join(labels))
    if data.bridges:
        names = [name for _id, name, _w in data.bridges[:2] if name]
        if names:
            rv += _("; ") + ngettext(
                "%(names)s has ties to both",
                "%(names)s have ties to both",
                len(names),
                names=join(names),
            )
    return rv + _(".")


def context(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """The proposal page's part: map, sentence, relations between sides, opinion groups."""
    if not lifecycle.is_public(proposal.kind, proposal.status):
        return None
    scope = (
        network_service.MANAGERS
        if viewer.user is not None and relations.is_network_manager(viewer.user, proposal.community)
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
        else:
            what = (
                _(
                    "usually agree (%(agreed)d of %(shared)d)",
                    agreed=t["agreed"],
                    shared=t["shared"],
                )
                if t["sign"] > 0
                else _(
                    "usually disagree (%(disagreed)d of %(shared)d)",
                    disagreed=t["disagreed"],
                    shared=t["shared"],
                )
            )
        between.append(
            {
                "a": t["a"],
                "b": t["b"],
                "a_name": names.get(t["a"]),
                "b_name": names.get(t["b"]),
                "sign": t["sign"],
                "what": what,
            }
        )
    return {
        "empty": False,
        "community_id": proposal.community_id,
        "sentence": summary_sentence(data),
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
        "bridges": [(x, name) for x, name, _w in data.bridges],
        "opinion": data.opinion,
        "map_size": MAP_SIZE,
    }


add_detail_part("network/_proposal_conflict.html", context)


# -- Alerts -----------------------------------------------------------------------------------


def _url(endpoint: str, **values: Any) -> str:
    try:
        if has_request_context():
            return url_for(endpoint, **values)
        return current_app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return ""


def _moderators(community_id: int) -> list[User]:
    committee = sa.select(Stakeholder.id).where(
        Stakeholder.community_id == community_id,
        Stakeholder.function == Function.RESIDENTS_COMMITTEE,
        Stakeholder.deleted_at.is_(None),
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id.in_(committee),
                Membership.status == MembershipStatus.ACTIVE,
                User.deleted_at.is_(None),
                User.is_disabled.is_(False),
            )
            .distinct()
        )
    )


def _active_on(community_id: int) -> dict[int, tuple[Proposal, set[int]]]:
    """Proposals under deliberation and the stakeholders active on them (two queries)."""
    open_states = [
        sa.and_(
            Proposal.kind == kind,
            Proposal.status.in_(
                [s for s in lifecycle.STATES[kind] if lifecycle.is_open_for_discussion(kind, s)]
            ),
        )
        for kind in lifecycle.KINDS
    ]
    proposals = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Proposal).where(Proposal.community_id == community_id, sa.or_(*open_states))
        )
    }
    if not proposals:
        return {}
    active: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        sa.union(
            sa.select(Position.proposal_id, Position.stakeholder_id).where(
                Position.proposal_id.in_(proposals)
            ),
            sa.select(Comment.proposal_id, Comment.actor_id).where(
                Comment.proposal_id.in_(proposals), Comment.deleted_at.is_(None)
            ),
            sa.select(CommentReaction.proposal_id, CommentReaction.actor_id).where(
                CommentReaction.proposal_id.in_(proposals)
            ),
        )
    )
    for pid, sid in rows:
        active[pid].add(sid)
    return {pid: (proposals[pid], active.get(pid, set())) for pid in proposals}


@network_service.network_changed.connect
def on_network_changed(
    community_id: int, *, new_conflicts=(), new_triads=(), snapshot=None, **extra
) -> int:
    """Notify the community's moderators of new conflicts among a proposal's active stakeholders."""
    proposals = _active_on(community_id)
    if not proposals:
        return 0
    notes: list[tuple[str, dict[str, Any], str]] = []
    ids = {i for pair in new_conflicts for i in pair} | {i for t in new_triads for i in t["nodes"]}
    names = (
        {
            s.id: s.name
            for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(ids)))
        }
        if ids
        else {}
    )
    for pid, (proposal, active) in sorted(proposals.items()):
        url = _url("proposals.detail", proposal_id=pid) + "#conflict-map"
        for a, b in new_conflicts:
            if a in active and b in active:
                notes.append(
                    (
                        ALERT_CONFLICT,
                        {"title": proposal.title, "a": names.get(a, ""), "b": names.get(b, "")},
                        url,
                    )
                )
        for t in new_triads:
            m = t.get("mediator")
            others = [n for n in t["nodes"] if n != m]
            if m is None or len(others) != 2 or not all(o in active for o in others):
                continue
            notes.append(
                (
                    ALERT_TRIAD,
                    {
                        "title": proposal.title,
                        "m": names.get(m, ""),
                        "b": names.get(others[0], ""),
                        "c": names.get(others[1], ""),
                    },
                    url,
                )
            )
    if not notes:
        return 0
    moderators = _moderators(community_id)
    created = 0
    for message, params, url in notes:
        created += notify(Note(user, ALERT, message, params, url) for user in moderators)
    return created
