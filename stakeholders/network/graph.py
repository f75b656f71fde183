"""The community network as a graph for the browser, the API and exports.

`build_graph` turns a community's declared relations (those the scope may see) and the
report's inferred relations and camps into node-link data (the JSON format of
``networkx.node_link_data`` with ``links``), filtered by relation type, stakeholder kind,
origin (declared / inferred), sign and time window. Nodes carry a preset position: camps
side by side, each camp's members on a sunflower spiral with its most connected members in
the middle, stakeholders without relations in a group of their own. When more than
``max_nodes`` stakeholders are visible the graph is aggregated: one node per camp (or per
kind), one edge per pair of groups and sign with the summed weight; ``bloc=<n>`` opens one
camp. Every link explains itself in the viewer's language.

A fixed number of queries, whatever the size: stakeholders, declared relations, topic labels.
"""

from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import networkx as nx
from flask import url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from coord.db import db, utcnow
from coord.i18n import KIND_LABELS
from coord.models import Community
from stakeholders import queries
from stakeholders.models import Kind, Relation, RelationType, Stakeholder
from stakeholders.network import relations, stances
from stakeholders.network import services as service

MAX_VISIBLE_NODES = 2000
#: The browser draws at most this many links (declared first, then the strongest inferred).
MAX_VISIBLE_LINKS = 4000
#: Above this many links the graph leaves explanations out; the page asks for one on click.
EXPLAIN_LIMIT = 3000
WINDOWS = {"30": 30, "90": 90, "365": 365}
EDGE_TYPES = [t.value for t in RelationType] + ["inferred"]
SIGNS = ("positive", "negative")
ORIGINS = ("declared", "inferred")
SPACING = 46.0


@dataclass
class GraphFilters:
    """What the viewer asked to see."""

    types: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    origin: str | None = None
    sign: str | None = None
    window: str | None = None
    bloc: int | None = None
    aggregate: str | None = None  # "bloc" | "kind" | None (only when too many nodes)

    @property
    def filters_edges(self) -> bool:
        return bool(self.types or self.origin or self.sign or self.window)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": sorted(self.types),
            "kind": sorted(self.kinds),
            "origin": self.origin,
            "sign": self.sign,
            "window": self.window,
            "bloc": self.bloc,
            "aggregate": self.aggregate,
        }


def _multi(args: Any, name: str) -> list[str]:
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    rv = []
    for v in values:
        if v:
            rv.extend(p for p in str(v).split(",") if p)
    return rv


def parse_filters(args: Any) -> GraphFilters:
    """Read filters from query arguments, ignoring unknown values."""
    kinds = {k for k in _multi(args, "kind") if k in {x.value for x in Kind}}
    types = {t for t in _multi(args, "type") if t in EDGE_TYPES}
    origin = args.get("origin") if args.get("origin") in ORIGINS else None
    sign = args.get("sign") if args.get("sign") in SIGNS else None
    window = args.get("window") if args.get("window") in WINDOWS else None
    bloc_raw = args.get("bloc", "")
    bloc = int(bloc_raw) if bloc_raw.isdigit() and len(bloc_raw) < 6 else None
    aggregate = args.get("aggregate") if args.get("aggregate") in ("bloc", "kind") else None
    return GraphFilters(frozenset(types), frozenset(kinds), origin, sign, window, bloc, aggregate)


@dataclass
class Link:
    """One edge of the drawn graph."""

    id: str
    source: int
    target: int
    origin: str
    type: str
    sign: int
    weight: float
    strength: int
    since: datetime | None
    status: str | None = None
    visibility: str | None = None
    explanation: str = ""
    relation_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    raw: Any = None  # what the explanation is written from


class NodeRow(NamedTuple):
    """A drawn node: a stakeholder or a group of residents (negative id)."""

    id: int
    name: str
    kind: Any
    function: Any


def _names_query(community: Community) -> list[Any]:
    return db.session.execute(
        queries.community_stakeholders(community).with_only_columns(
            Stakeholder.id, Stakeholder.name, Stakeholder.kind, Stakeholder.function
        )
    ).all()


def node_info(
    community: Community, scope: str, report: dict[str, Any] | None
) -> tuple[dict[int, Any], dict[int, int | None]]:
    """Return the drawn nodes by id and the group standing for each resident (one query).

    Outside the individual scope residents are replaced by the report's groups (without a
    report yet, residents are left out); the second value maps them to their groups.
    """
    rows = _names_query(community)
    if scope == service.INDIVIDUAL:
        return {r.id: r for r in rows}, {}
    group_of = service.report_group_of(report) or {}
    info: dict[int, Any] = {}
    grouped: dict[int, int | None] = {}
    for r in rows:
        if service.enum_value(r.kind) == Kind.RESIDENT.value:
            grouped[r.id] = group_of.get(r.id)
        else:
            info[r.id] = r
    for g in (report or {}).get("groups", []):
        info[g["id"]] = NodeRow(g["id"], service.group_label(g), Kind.RESIDENT.value, None)
    return info, grouped


def _declared_links(
    community: Community, scope: str, names: dict[int, str], grouped: dict[int, int | None]
) -> list[Link]:
    query = service.declared_select(community, scope).add_columns(
        Relation.note, Relation.evidence, Relation.response_note
    )
    rv = []
    for r in db.session.execute(query):
        source, target = (
            grouped.get(r.source_id, r.source_id),
            grouped.get(r.target_id, r.target_id),
        )
        if source not in names or target not in names or source == target:
            continue
        type_ = service.enum_value(r.type)
        status = service.enum_value(r.status)
        rv.append(
            Link(
                id=f"r{r.id}",
                source=source,
                target=target,
                origin="declared",
                type=type_,
                sign=r.sign,
                weight=float(r.strength)
                * (service.DISPUTED_FACTOR if status == "disputed" else 1.0),
                strength=r.strength,
                since=r.created_at,
                status=status,
                visibility=service.enum_value(r.visibility),
                relation_id=r.id,
                raw=(
                    names[source],
                    names[target],
                    type_,
                    r.strength,
                    status,
                    r.note,
                    r.evidence,
                    r.response_note,
                ),
            )
        )
    return rv


class Texts:
    """The phrases of explanations, translated once per request (thousands of links)."""

    def __init__(self) -> None:
        self.declared = _(
            "%(source)s declared a relation with %(target)s: %(type)s, strength %(strength)d, "
            "%(status)s."
        )
        self.note = _("Their account: %(note)s")
        self.evidence = _("Evidence: %(evidence)s")
        self.response = _("The other side says: %(response)s")
        self.inferred = _(
            "Inferred from public stances: the same side %(agreed)d times and opposite sides "
            "%(disagreed)d times on %(shared)d shared items."
        )
        self.agreed_on = _("Agreed on: %(items)s.")
        self.disagreed_on = _("Disagreed on: %(items)s.")
        self.types = {k: str(v) for k, v in relations.TYPE_LABELS.items()}
        self.statuses = {k: str(v) for k, v in relations.STATUS_LABELS.items()}
        self.inferred_type = _("inferred")


def declared_explanation(
    source: str,
    target: str,
    type_: str,
    strength: int,
    status: str,
    note: str,
    evidence: str,
    response: str,
    texts: Texts | None = None,
) -> str:
    """Explain a declared relation in one paragraph."""
    t = texts or Texts()
    parts = [
        t.declared
        % {
            "source": source,
            "target": target,
            "type": t.types.get(type_, type_),
            "strength": strength,
            "status": t.statuses.get(status, status),
        }
    ]
    if note:
        parts.append(t.note % {"note": note})
    if evidence:
        parts.append(t.evidence % {"evidence": evidence})
    if response:
        parts.append(t.response % {"response": response})
    return " ".join(parts)


def inferred_explanation(
    r: dict[str, Any], labels: dict[str, tuple[str, str]], texts: Texts | None = None
) -> str:
    """Explain an inferred relation: how often the two took the same or opposite sides."""
    t = texts or Texts()
    rv = t.inferred % {"agreed": r["agreed"], "disagreed": r["disagreed"], "shared": r["shared"]}
    agreed = [labels[x][0] for x in r.get("topics_agreed", []) if x in labels]
    disagreed = [labels[x][0] for x in r.get("topics_disagreed", []) if x in labels]
    if agreed:
        rv += " " + t.agreed_on % {"items": "、".join(agreed)}
    if disagreed:
        rv += " " + t.disagreed_on % {"items": "、".join(disagreed)}
    return rv


def _inferred_links(report: dict[str, Any] | None, names: dict[int, str]) -> list[Link]:
    rv = []
    for r in (report or {}).get("inferred", []):
        if r["a"] not in names or r["b"] not in names:
            continue
        when = r.get("when")
        rv.append(
            Link(
                id=f"i{r['a']}-{r['b']}",
                source=r["a"],
                target=r["b"],
                origin="inferred",
                type="inferred",
                sign=r["sign"],
                weight=service.INFERRED_SCALE * r["weight"],
                strength=max(1, min(3, round(service.INFERRED_SCALE * r["weight"] * 1.5))),
                since=datetime.fromisoformat(when) if when else None,
                data={k: r[k] for k in ("shared", "agreed", "disagreed")},
                raw=r,
            )
        )
    return rv


def explain_links(links: list[Link]) -> None:
    """Write the explanation of each link (topic names in one query per stance source)."""
    texts = Texts()
    topics = {
        t
        for link in links
        if link.origin == "inferred"
        for t in (*link.raw.get("topics_agreed", []), *link.raw.get("topics_disagreed", []))
    }
    labels = stances.label_topics(topics)
    for link in links:
        if link.origin == "declared":
            link.explanation = declared_explanation(*link.raw, texts=texts)
        else:
            link.explanation = inferred_explanation(link.raw, labels, texts)


def link_explanation(
    community: Community, scope: str, report: dict[str, Any] | None, link_id: str
) -> dict[str, Any] | None:
    """Explain one link of the community's graph (None when the scope may not see it)."""
    info, grouped = node_info(community, scope, report)
    names = {sid: r.name for sid, r in info.items()}
    if link_id.startswith("r") and link_id[1:].isdigit():
        links = [
            link for link in _declared_links(community, scope, names, grouped) if link.id == link_id
        ]
    else:
        links = [link for link in _inferred_links(report, names) if link.id == link_id]
    if not links:
        return None
    explain_links(links)
    return {"id": link_id, "explanation": links[0].explanation}


def _keep(link: Link, f: GraphFilters, cutoff: datetime | None) -> bool:
    if f.types and link.type not in f.types:
        return False
    if f.origin and link.origin != f.origin:
        return False
    if (f.sign == "positive" and link.sign < 0) or (f.sign == "negative" and link.sign > 0):
        return False
    return not (cutoff is not None and (link.since is None or link.since < cutoff))


def _bloc_of(report: dict[str, Any] | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in (report or {}).get("bloc_of", [])}


def build_graph(
    community: Community,
    scope: str,
    report: dict[str, Any] | None,
    filters: GraphFilters,
    *,
    max_nodes: int = MAX_VISIBLE_NODES,
    explain: bool | None = None,
    max_links: int | None = MAX_VISIBLE_LINKS,
) -> dict[str, Any]:
    """Return the community's network as node-link data for the viewer's scope."""
    info, grouped = node_info(community, scope, report)
    bloc_of = _bloc_of(report)
    links, visible = _visible(community, scope, report, filters, (info, grouped), bloc_of)
    graph = {
        "community": {"id": community.id, "name": community.name},
        "scope": scope,
        "computed_at": (report or {}).get("computed_at"),
        "filters": filters.as_dict(),
        "visible_nodes": len(visible),
        "max_nodes": max_nodes,
        "aggregated": None,
        "blocs": [
            {"id": i, "label": bloc_label(i), "size": len(b["members"])}
            for i, b in enumerate((report or {}).get("blocs", []))
        ],
    }
    aggregate = filters.aggregate if filters.aggregate else None
    if aggregate is None and len(visible) > max_nodes:
        aggregate = "bloc"
    if aggregate is not None:
        return _aggregated(graph, aggregate, visible, info, bloc_of, links)
    nodes = _nodes(visible, info, bloc_of, _weighted_degree(links))
    graph["links_total"] = len(links)
    if max_links is not None and len(links) > max_links:
        # Declared relations first, then the strongest inferred ones.
        links.sort(key=lambda lk: (lk.origin != "declared", -lk.weight, lk.id))
        links = links[:max_links]
    graph["links_shown"] = len(links)
    if explain is None:
        explain = len(links) <= EXPLAIN_LIMIT
    if explain:
        explain_links(links)
    graph["explained"] = explain
    return {
        "directed": False,
        "multigraph": True,
        "graph": graph,
        "nodes": nodes,
        "links": _link_items(links, scope, explain),
    }


def _visible(
    community: Community,
    scope: str,
    report: dict[str, Any] | None,
    filters: GraphFilters,
    nodes: tuple[dict[int, Any], dict[int, int | None]],
    bloc_of: dict[int, int],
) -> tuple[list[Link], set[int]]:
    """Return the links and the stakeholders the filters keep."""
    info, grouped = nodes
    names = {sid: r.name for sid, r in info.items()}
    links = _declared_links(community, scope, names, grouped) + _inferred_links(report, names)
    cutoff = utcnow() - timedelta(days=WINDOWS[filters.window]) if filters.window else None
    links = [link for link in links if _keep(link, filters, cutoff)]
    visible = {
        sid
        for sid, r in info.items()
        if (not filters.kinds or service.enum_value(r.kind) in filters.kinds)
        and (filters.bloc is None or bloc_of.get(sid, -1) == filters.bloc)
    }
    links = [link for link in links if link.source in visible and link.target in visible]
    if filters.filters_edges:
        visible = {e for link in links for e in (link.source, link.target)}
    return links, visible


def _weighted_degree(links: list[Link]) -> Counter[int]:
    """Sum the weights of each stakeholder's links."""
    rv: Counter[int] = Counter()
    for link in links:
        rv[link.source] += link.weight
        rv[link.target] += link.weight
    return rv


def _nodes(
    visible: set[int], info: dict[int, Any], bloc_of: dict[int, int], degree: Counter[int]
) -> list[dict[str, Any]]:
    """Return the drawn stakeholders with their camp, degree and preset position."""
    kinds = {s: service.enum_value(info[s].kind) for s in visible}
    positions = layout(sorted(visible), bloc_of, degree, kinds)
    rv = []
    for sid in sorted(visible):
        r = info[sid]
        kind = kinds[sid]
        x, y = positions[sid]
        rv.append(
            {
                "id": sid,
                "name": r.name,
                "kind": kind,
                "kind_label": str(KIND_LABELS.get(kind, kind)),
                "function": service.enum_value(r.function) if r.function else None,
                "bloc": bloc_of.get(sid),
                "degree": round(degree.get(sid, 0.0), 3),
                "url": url_for("stakeholders.profile", stakeholder_id=sid) if sid > 0 else None,
                "x": round(x, 1),
                "y": round(y, 1),
            }
        )
    return rv


def _link_items(links: list[Link], scope: str, explain: bool) -> list[dict[str, Any]]:
    """Return the drawn links as node-link data (visibility only for managers)."""
    type_labels = {k: str(v) for k, v in relations.TYPE_LABELS.items()}
    inferred_label = _("inferred")
    rv = []
    for link in links:
        item = {
            "id": link.id,
            "source": link.source,
            "target": link.target,
            "origin": link.origin,
            "type": link.type,
            "type_label": type_labels.get(link.type, inferred_label),
            "sign": link.sign,
            "weight": round(link.weight, 3),
            "strength": link.strength,
            "since": link.since.isoformat() if link.since else None,
        }
        if link.status:
            item["status"] = link.status
        if scope != service.PUBLIC and link.visibility:
            item["visibility"] = link.visibility
        if link.relation_id:
            item["url"] = url_for("network.relation", relation_id=link.relation_id)
        if explain:
            item["explanation"] = link.explanation
        item.update(link.data)
        rv.append(item)
    return rv


def full_graph(
    community: Community, scope: str, report: dict[str, Any] | None, args: Any
) -> dict[str, Any]:
    """Return every link the query arguments' filters keep, each explained (for exports)."""
    return build_graph(community, scope, report, parse_filters(args), explain=True, max_links=None)


def bloc_label(index: int) -> str:
    """Name a camp for people: Camp 1, Camp 2, ..."""
    return _("Camp %(n)d", n=index + 1)


def _aggregated(
    graph: dict[str, Any],
    by: str,
    visible: set[int],
    info: dict[int, Any],
    bloc_of: dict[int, int],
    links: list[Link],
) -> dict[str, Any]:
    """Return one node per camp (or kind) and one link per pair of groups and sign."""

    def group(sid: int) -> str:
        if by == "kind":
            return f"kind:{service.enum_value(info[sid].kind)}"
        b = bloc_of.get(sid)
        return f"bloc:{b}" if b is not None else "bloc:none"

    members: dict[str, list[int]] = defaultdict(list)
    for sid in visible:
        members[group(sid)].append(sid)
    sums: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0, 0])
    for link in links:
        ga, gb = sorted((group(link.source), group(link.target)))
        entry = sums[(ga, gb, 1 if link.sign > 0 else -1)]
        entry[0] += link.weight
        entry[1] += 1
    keys = sorted(members, key=lambda k: (-len(members[k]), k))
    graph["aggregated"] = by
    return {
        "directed": False,
        "multigraph": True,
        "graph": graph,
        "nodes": [_group_node(i, key, members[key], info, len(keys)) for i, key in enumerate(keys)],
        "links": [
            _group_link(ga, gb, sign, weight, int(count))
            for (ga, gb, sign), (weight, count) in sorted(sums.items())
        ],
    }


def _group_node(
    i: int, key: str, members: list[int], info: dict[int, Any], n_keys: int
) -> dict[str, Any]:
    """Return the node of a group of stakeholders, placed on a circle."""
    size = len(members)
    kinds = Counter(service.enum_value(info[s].kind) for s in members)
    if key.startswith("kind:"):
        label = str(KIND_LABELS.get(key[5:], key[5:]))
    elif key == "bloc:none":
        label = _("No relations")
    else:
        label = bloc_label(int(key[5:]))
    angle = 2 * math.pi * i / max(1, n_keys)
    return {
        "id": key,
        "name": ngettext(
            "%(label)s (%(num)d stakeholder)",
            "%(label)s (%(num)d stakeholders)",
            size,
            label=label,
        ),
        "kind": "group",
        "size": size,
        "composition": dict(kinds),
        "bloc": int(key[5:]) if key.startswith("bloc:") and key != "bloc:none" else None,
        "x": round(400 * math.cos(angle), 1) if n_keys > 1 else 0.0,
        "y": round(300 * math.sin(angle), 1) if n_keys > 1 else 0.0,
    }


def _group_link(ga: str, gb: str, sign: int, weight: float, count: int) -> dict[str, Any]:
    """Return the link summing the relations of one sign between two groups."""
    return {
        "id": f"{ga}|{gb}|{sign}",
        "source": ga,
        "target": gb,
        "origin": "aggregate",
        "type": "aggregate",
        "sign": sign,
        "weight": round(weight, 3),
        "strength": max(1, min(3, int(math.log10(count + 1)) + 1)),
        "count": count,
        "explanation": ngettext(
            "%(num)d relation, total weight %(weight)s",
            "%(num)d relations, total weight %(weight)s",
            count,
            weight=format_decimal(round(weight, 1)),
        ),
    }


_KIND_ORDER = {"government": 0, "business": 1, "social_organization": 2, "resident": 3}
_GOLDEN = math.pi * (3 - math.sqrt(5))


def layout(
    ids: list[int], bloc_of: dict[int, int], degree: dict[int, float], kinds: dict[int, str]
) -> dict[int, tuple[float, float]]:
    """Place camps side by side, each on a sunflower spiral (most connected in the middle)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for sid in ids:
        groups[bloc_of.get(sid, -1) if degree.get(sid) else -1].append(sid)
    order = sorted(groups, key=lambda b: (b < 0, b))
    rv: dict[int, tuple[float, float]] = {}
    x_cursor = 0.0
    radii = {b: SPACING * math.sqrt(len(groups[b])) + SPACING for b in order}
    camps = [b for b in order if b >= 0]
    for b in camps:
        r = radii[b]
        cx = x_cursor + r
        _spiral(groups[b], cx, 0.0, degree, kinds, rv)
        x_cursor = cx + r + SPACING * 1.5
    if -1 in groups:
        loose = sorted(groups[-1], key=lambda s: (_KIND_ORDER.get(kinds[s], 9), s))
        cols = max(1, math.ceil(math.sqrt(len(loose) * 3)))
        width = (cols - 1) * SPACING * 1.6
        centre = (x_cursor - SPACING * 1.5) / 2 if camps else width / 2
        top = max((radii[b] for b in camps), default=0.0) + SPACING * 2 if camps else 0.0
        for i, sid in enumerate(loose):
            row, col = divmod(i, cols)
            rv[sid] = (centre - width / 2 + col * SPACING * 1.6, top + row * SPACING)
    return rv


def _spiral(
    members: list[int],
    cx: float,
    cy: float,
    degree: dict[int, float],
    kinds: dict[int, str],
    out: dict[int, tuple[float, float]],
) -> None:
    ranked = sorted(members, key=lambda s: (-degree.get(s, 0.0), _KIND_ORDER.get(kinds[s], 9), s))
    for i, sid in enumerate(ranked):
        radius = SPACING * math.sqrt(i + 0.5) * 0.9
        angle = i * _GOLDEN
        out[sid] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))


def graphml(data: dict[str, Any]) -> str:
    """Serialise node-link data as GraphML (attributes without values are left out)."""
    g = nx.MultiGraph()
    for key, value in data["graph"].items():
        if isinstance(value, str | int | float | bool) and not isinstance(value, dict):
            g.graph[key] = value
    for node in data["nodes"]:
        attrs = {
            k: v
            for k, v in node.items()
            if k != "id" and isinstance(v, str | int | float | bool) and v is not None
        }
        g.add_node(node["id"], **attrs)
    for link in data["links"]:
        attrs = {
            k: v
            for k, v in link.items()
            if k not in ("source", "target") and isinstance(v, str | int | float | bool)
        }
        g.add_edge(link["source"], link["target"], key=link["id"], **attrs)
    out = io.BytesIO()
    nx.write_graphml(g, out, encoding="utf-8", named_key_ids=True)
    return out.getvalue().decode("utf-8")
