"""The conflict report in plain sentences, and the power–interest grid.

Turns a stored network report (plain data from `network_service.compute`) into ranked
sections of sentences in the viewer's language: the camps and who is in them, the strongest
conflicts, the strained alliances (unbalanced triads) with the suggested mediator, the
brokers, the silent stakeholders, and how it changed since the report of about a month ago.
Names are loaded in one query; relation details in one more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from coord.db import db
from coord.models import Community
from stakeholders.models import Relation, RelationType, Stakeholder
from stakeholders.network import permissions as network_permissions
from stakeholders.network import relations
from stakeholders.network import services as service

KIND_PLURALS = {
    "government": _l("the government units"),
    "business": _l("the businesses"),
    "social_organization": _l("the social organisations"),
    "resident": _l("the residents"),
}

MAX_CAMP_NAMES = 8
MAX_CONFLICTS = 8
MAX_TRIADS = 8
MAX_BROKERS = 5
MAX_SILENT = 12


def join(items: Iterable[str]) -> str:
    """Join names the way the viewer's language does: A、B和C / A, B, and C."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return format_list(items, locale=get_locale() or "zh_Hans_CN")


@dataclass
class Sentence:
    """One line of the report, with the stakeholders it is about (for highlighting)."""

    text: str
    nodes: list[int] = field(default_factory=list)
    mediator: int | None = None
    css: str = ""
    href: str | None = None


@dataclass
class Section:
    """A titled, ranked list of sentences."""

    key: str
    title: str
    sentences: list[Sentence]
    empty: str = ""
    lead: str = ""


class Names:
    """Stakeholder names (and the reports' groups of residents) for sentences, loaded once."""

    def __init__(self, ids: Iterable[int], *reports: dict[str, Any] | None):
        self.groups: dict[int, str] = {}
        for report in reversed(reports):
            self.groups.update(service.group_labels(report))
        self.rows = service.stakeholder_rows(i for i in ids if i > 0)

    def kind(self, sid: int) -> str:
        """Return the kind of a stakeholder or group ("resident")."""
        if sid in self.groups:
            return "resident"
        s = self.rows.get(sid)
        return s.kind.value if s is not None else ""

    def __call__(self, sid: int) -> str:
        if sid in self.groups:
            return self.groups[sid]
        s = self.rows.get(sid)
        if s is None:
            return _("an unknown stakeholder")
        return _("deleted user") if s.is_deleted else s.name

    def many(self, ids: Iterable[int], limit: int) -> str:
        ids = list(ids)
        shown = [self(i) for i in ids[:limit]]
        rest = len(ids) - len(shown)
        if rest > 0:
            shown.append(ngettext("%(num)d other", "%(num)d others", rest))
        return join(shown)


def _degree(report: dict[str, Any]) -> dict[int, float]:
    return {int(k): float(v) for k, v in report.get("degree", [])}


def _participation(report: dict[str, Any]) -> dict[int, int]:
    return {int(k): int(v) for k, v in report.get("participation", [])}


def _ranked(members: Iterable[int], degree: dict[int, float], kinds: dict[int, str]) -> list[int]:
    order = {"government": 0, "business": 1, "social_organization": 2, "resident": 3}
    return sorted(members, key=lambda s: (order.get(kinds.get(s, ""), 9), -degree.get(s, 0.0), s))


def polarization_sentence(value: float) -> str:
    """Say in words how split a community is."""
    if value < 0.15:
        return _(
            "The community is hardly split (polarization %(value)s of 1).",
            value=format_decimal(round(value, 2)),
        )
    if value < 0.45:
        return _(
            "The community is somewhat split (polarization %(value)s of 1).",
            value=format_decimal(round(value, 2)),
        )
    return _(
        "The community is deeply split (polarization %(value)s of 1).",
        value=format_decimal(round(value, 2)),
    )


def _composition(comp: dict[str, int]) -> str:
    labels = {
        "government": lambda n: ngettext("%(num)d government unit", "%(num)d government units", n),
        "business": lambda n: ngettext("%(num)d business", "%(num)d businesses", n),
        "social_organization": lambda n: ngettext(
            "%(num)d social organisation", "%(num)d social organisations", n
        ),
        "resident": lambda n: ngettext("%(num)d resident", "%(num)d residents", n),
    }
    return join(labels[k](n) for k, n in comp.items() if n and k in labels)


def conflict_report(
    community: Community,
    report: dict[str, Any],
    previous: dict[str, Any] | None,
) -> list[Section]:
    """Return the report's sections in reading order, each ranked."""
    degree = _degree(report)
    blocs = report.get("blocs", [])
    conflicts = report.get("conflicts", [])[:MAX_CONFLICTS]
    triads = report.get("triads", [])[:MAX_TRIADS]
    brokers = report.get("brokers", [])[:MAX_BROKERS]
    isolated = report.get("isolated", [])
    participation = _participation(report)
    silent = sorted(i for i in isolated if not participation.get(i))
    tops = [sorted(b["members"], key=lambda s: (-degree.get(s, 0.0), s))[:50] for b in blocs]
    names = Names(_named_ids(tops, conflicts, triads, brokers, silent), report, previous)
    return [
        _camps_section(report, tops, degree, names),
        _conflicts_section(conflicts, names),
        _triads_section(triads, report.get("triad_count", 0), names),
        _brokers_section(brokers, names),
        _silent_section(isolated, silent, names),
        Section("change", _("Since last month"), change_sentences(report, previous, names), ""),
    ]


def _named_ids(
    tops: list[list[int]],
    conflicts: list[dict[str, Any]],
    triads: list[dict[str, Any]],
    brokers: list[dict[str, Any]],
    silent: list[int],
) -> set[int]:
    """Return the stakeholders the sentences name (their names load in one query)."""
    rv: set[int] = set()
    for top in tops:
        rv.update(top)
    for c in conflicts:
        rv.update((c["a"], c["b"]))
    for t in triads:
        rv.update(t["nodes"])
    for b in brokers:
        rv.add(b["id"])
        for fact in b.get("liaison", []):
            for side in fact["between"]:
                rv.update(side["members"][:3])
    rv.update(silent[:MAX_SILENT])
    return rv


def _camps_section(
    report: dict[str, Any], tops: list[list[int]], degree: dict[int, float], names: Names
) -> Section:
    """Name the camps, their composition and their best connected members."""
    blocs = report.get("blocs", [])
    kinds = {sid: names.kind(sid) for top in tops for sid in top}
    lines = []
    for i, (b, top) in enumerate(zip(blocs, tops, strict=True)):
        members = _ranked(top, degree, kinds)
        shown = [names(m) for m in members[:MAX_CAMP_NAMES]]
        rest = len(b["members"]) - len(shown)
        if rest > 0:
            shown.append(ngettext("%(num)d other", "%(num)d others", rest))
        lines.append(
            Sentence(
                _(
                    "Camp %(n)d (%(composition)s): %(names)s.",
                    n=i + 1,
                    composition=_composition(b["composition"]),
                    names=join(shown),
                ),
                nodes=list(b["members"][:500]),
                css=f"camp camp-{i % 6}",
            )
        )
    return Section(
        "camps",
        _("Main camps"),
        lines,
        _("No camps: there are no relations yet."),
        lead=polarization_sentence(report["polarization"]["value"]) if blocs else "",
    )


def _conflicts_section(conflicts: list[dict[str, Any]], names: Names) -> Section:
    """Say who is in conflict, how strongly and why (the negative relations' notes)."""
    rels = _relations({rid for c in conflicts for rid in c.get("relations", [])})
    lines = []
    for c in conflicts:
        reasons = []
        for rid in c.get("relations", []):
            r = rels.get(rid)
            if r is None or r.sign > 0:
                continue
            text = str(relations.TYPE_LABELS[r.type.value])
            if r.note:
                text += _(" (“%(note)s”)", note=r.note)
            reasons.append(text)
        if c.get("inferred"):
            reasons.append(_("opposite sides on shared proposals"))
        lines.append(
            Sentence(
                _(
                    "%(a)s and %(b)s are in conflict (weight %(weight)s): %(reasons)s.",
                    a=names(c["a"]),
                    b=names(c["b"]),
                    weight=format_decimal(c["weight"]),
                    reasons=join(reasons) or _("several relations"),
                ),
                nodes=[c["a"], c["b"]],
                css="conflict",
            )
        )
    return Section("conflicts", _("Strongest conflicts"), lines, _("No conflicts."))


def _triad_sentence(t: dict[str, Any], names: Names) -> Sentence:
    """Describe an unbalanced triad and, when there is one, its suggested mediator."""
    nodes = list(t["nodes"])
    if t["negative"] == 1 and t.get("mediator") is not None:
        m = t["mediator"]
        b, c = (n for n in nodes if n != m)
        text = _(
            "%(m)s cooperates with %(b)s and with %(c)s, but %(b)s and %(c)s are in "
            "conflict. Suggested mediator: %(m)s.",
            m=names(m),
            b=names(b),
            c=names(c),
        )
    else:
        text = _(
            "%(a)s, %(b)s and %(c)s are all in conflict with one another.",
            a=names(nodes[0]),
            b=names(nodes[1]),
            c=names(nodes[2]),
        )
    return Sentence(text, nodes=nodes, mediator=t.get("mediator"), css="triad")


def _triads_section(triads: list[dict[str, Any]], count: int, names: Names) -> Section:
    """List the strained alliances (unbalanced triads) with their mediators."""
    lines = [_triad_sentence(t, names) for t in triads]
    more = count - len(triads)
    if more > 0:
        lines.append(Sentence(_("… and %(num)d more.", num=more), css="muted"))
    return Section(
        "triads",
        _("Strained alliances and suggested mediators"),
        lines,
        _("No strained alliances."),
    )


def _broker_sentence(b: dict[str, Any], names: Names) -> Sentence:
    """Say between whom a broker is the liaison, and its brokerage score."""
    facts = b.get("liaison", [])
    if facts:
        sides = [
            _(
                "%(group)s (%(names)s)",
                group=str(KIND_PLURALS.get(side["kind"], side["kind"])),
                names=names.many(side["members"], 3),
            )
            for side in facts[0]["between"]
        ]
        text = _(
            "%(name)s is the liaison between %(a)s and %(b)s.",
            name=names(b["id"]),
            a=sides[0],
            b=sides[1],
        )
    else:
        text = _("%(name)s links stakeholders who have no tie of their own.", name=names(b["id"]))
    text += " " + _("Brokerage score %(score)s.", score=format_decimal(round(b["score"], 3)))
    return Sentence(text, nodes=[b["id"]], css="broker")


def _brokers_section(brokers: list[dict[str, Any]], names: Names) -> Section:
    """List the brokers."""
    lines = [_broker_sentence(b, names) for b in brokers]
    return Section("brokers", _("Brokers"), lines, _("No brokers yet."))


def _silent_section(isolated: list[int], silent: list[int], names: Names) -> Section:
    """Count the stakeholders without relations and name those who took no part either."""
    lines = []
    if isolated:
        lines.append(
            Sentence(
                ngettext(
                    "%(num)d stakeholder has no relation at all.",
                    "%(num)d stakeholders have no relation at all.",
                    len(isolated),
                )
            )
        )
    if silent:
        lines.append(
            Sentence(
                ngettext(
                    "%(num)d of them took no part in any proposal either: %(names)s.",
                    "%(num)d of them took no part in any proposal either: %(names)s.",
                    len(silent),
                    names=names.many(silent, MAX_SILENT),
                ),
                nodes=silent[:200],
                css="silent",
            )
        )
    return Section(
        "silent",
        _("Silent stakeholders"),
        lines,
        _("Every stakeholder has at least one relation."),
    )


def _relations(ids: set[int]) -> dict[int, Relation]:
    if not ids:
        return {}
    return {r.id: r for r in db.session.scalars(sa.select(Relation).where(Relation.id.in_(ids)))}


def change_sentences(
    report: dict[str, Any], previous: dict[str, Any] | None, names: Names
) -> list[Sentence]:
    """Compare a report with the one of about a month ago."""
    if previous is None:
        return [
            Sentence(_("There is no report from a month ago yet to compare with."), css="muted")
        ]
    rv = [_polarization_change(report["polarization"]["value"], previous["polarization"]["value"])]
    n_now, n_then = len(report.get("blocs", [])), len(previous.get("blocs", []))
    if n_now != n_then:
        rv.append(
            Sentence(
                _("The number of camps changed from %(then)d to %(now)d.", then=n_then, now=n_now)
            )
        )
    conflicts = _conflict_changes(report, previous, names)
    rv.extend(conflicts)
    t_now, t_then = report.get("triad_count", 0), previous.get("triad_count", 0)
    if t_now != t_then:
        rv.append(
            Sentence(
                _("Strained alliances: %(then)d a month ago, %(now)d now.", then=t_then, now=t_now)
            )
        )
    if len(rv) == 1 and not conflicts:
        rv.append(Sentence(_("No conflict appeared or ended."), css="muted"))
    return rv


def _polarization_change(now_p: float, then_p: float) -> Sentence:
    """Say whether polarization rose, fell or stayed about the same."""
    then, now = format_decimal(round(then_p, 2)), format_decimal(round(now_p, 2))
    if abs(now_p - then_p) < 0.05:
        return Sentence(
            _("Polarization stayed about the same (%(then)s → %(now)s).", then=then, now=now)
        )
    if now_p > then_p:
        return Sentence(
            _("Polarization rose from %(then)s to %(now)s.", then=then, now=now), css="worse"
        )
    return Sentence(
        _("Polarization fell from %(then)s to %(now)s.", then=then, now=now), css="better"
    )


def _conflict_changes(
    report: dict[str, Any], previous: dict[str, Any], names: Names
) -> list[Sentence]:
    """Name the conflicts that appeared and ended since the previous report (five of each)."""
    new = service.diff_reports(previous, report)["conflicts"]
    old_pairs = {tuple(p) for p in previous.get("negative_pairs", [])}
    now_pairs = {tuple(p) for p in report.get("negative_pairs", [])}
    ended = [p for p in old_pairs if p not in now_pairs]
    extra = Names({i for p in new[:5] + ended[:5] for i in p} - set(names.rows) - set(names.groups))
    names.rows.update(extra.rows)
    rv = [
        Sentence(
            _("New conflict: %(a)s and %(b)s.", a=names(a), b=names(b)), nodes=[a, b], css="worse"
        )
        for a, b in new[:5]
    ]
    if len(new) > 5:
        rv.append(
            Sentence(
                ngettext(
                    "… and %(num)d more new conflict.",
                    "… and %(num)d more new conflicts.",
                    len(new) - 5,
                )
            )
        )
    rv.extend(
        Sentence(
            _("No longer in conflict: %(a)s and %(b)s.", a=names(a), b=names(b)),
            nodes=[a, b],
            css="better",
        )
        for a, b in sorted(ended)[:5]
    )
    return rv


# -- Power–interest grid ----------------------------------------------------------------------

KIND_POWER = {"government": 1.0, "business": 0.65, "social_organization": 0.45, "resident": 0.1}
FUNCTION_POWER = {
    "street_office": 1.0,
    "department": 0.85,
    "residents_committee": 0.75,
    "property_manager": 0.75,
    "owners_committee": 0.55,
}

QUADRANTS = {
    "manage": _l("Manage closely"),
    "satisfy": _l("Keep satisfied"),
    "inform": _l("Keep informed"),
    "monitor": _l("Monitor — left out?"),
}
QUADRANT_HELP = {
    "manage": _l("High power and high interest: involve them in every step."),
    "satisfy": _l("High power, little participation: consult them before they object."),
    "inform": _l("Much participation, little power: keep them informed and give them a voice."),
    "monitor": _l("Little power and little participation: reach out, they may be left out."),
}


@dataclass
class GridPoint:
    """A stakeholder on the power–interest grid."""

    id: int
    name: str
    kind: str
    power: float
    interest: float
    quadrant: str
    x: float = 0.0
    y: float = 0.0
    label: bool = False
    anchor_end: bool = False


def power_interest(community: Community, report: dict[str, Any]) -> list[GridPoint]:
    """Place each stakeholder by power (kind, centrality, resources) and interest.

    Power = 0.5 × kind/function weight + 0.3 × weighted degree (relative to the most
    connected) + 0.2 × resources (members, and supervision and contract relations it holds
    as the source, relative to the largest). Interest = 0.6 × the proposals (and polls) it
    took a public stance on + 0.4 × its stances (positions, comments, reactions, open
    ballots), each relative to the most active stakeholder. Both lie in [0, 1].
    """
    degree = _degree(report)
    participation = _participation(report)
    nodes = {int(k) for k, _v in report.get("bloc_of", [])} | set(report.get("isolated", []))
    groups = service.group_labels(report)
    rows = service.stakeholder_rows(i for i in nodes if i > 0)
    members = service.member_counts(s.id for s in rows.values() if s.is_organisation)
    held = (
        dict(
            db.session.execute(
                sa.select(Relation.source_id, sa.func.count())
                .where(
                    Relation.source_id.in_(nodes),
                    Relation.type.in_([RelationType.SUPERVISION, RelationType.CONTRACT]),
                    Relation.status.in_(relations.LIVE_STATUSES),
                )
                .group_by(Relation.source_id)
            ).all()
        )
        if nodes
        else {}
    )
    ids = sorted(
        [g for g in groups if g in nodes] + [s.id for s in rows.values() if not s.is_deleted]
    )
    max_degree = max((degree.get(i, 0.0) for i in ids), default=0.0) or 1.0
    resources = {i: math.log1p(members.get(i, 0)) + held.get(i, 0) for i in ids}  # groups: 0
    max_res = max(resources.values(), default=0.0) or 1.0
    max_part = max((participation.get(i, 0) for i in ids), default=0) or 1
    activity = {int(k): int(v) for k, v in report.get("activity", [])}
    max_act = max((activity.get(i, 0) for i in ids), default=0) or 1
    rv = []
    for i in ids:
        s = rows.get(i)
        kind = s.kind.value if s is not None else "resident"
        function = s.function.value if s is not None and s.function else ""
        base = FUNCTION_POWER.get(function, KIND_POWER.get(kind, 0.1))
        power = 0.5 * base + 0.3 * degree.get(i, 0.0) / max_degree + 0.2 * resources[i] / max_res
        interest = 0.6 * participation.get(i, 0) / max_part + 0.4 * activity.get(i, 0) / max_act
        quadrant = (
            ("manage" if interest >= 0.5 else "satisfy")
            if power >= 0.5
            else ("inform" if interest >= 0.5 else "monitor")
        )
        name = s.name if s is not None else groups[i]
        rv.append(GridPoint(i, name, kind, round(power, 3), round(interest, 3), quadrant))
    return rv


def grid_layout(points: list[GridPoint], width: int, height: int, pad: int) -> list[GridPoint]:
    """Give points SVG coordinates (interest → x, power → y) and choose which get a label.

    Equal points are spread by a small offset derived from the id (deterministic), labels of
    points on the right half go to their left, and a label is drawn only where no other
    label is near.
    """
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    seen: set[tuple[int, int]] = set()
    for p in points:
        dx, dy = (p.id * 37) % 13 - 6, (p.id * 53) % 13 - 6
        p.x = round(min(width - pad, max(pad, pad + p.interest * inner_w + dx)), 1)
        p.y = round(min(height - pad, max(pad, height - pad - p.power * inner_h + dy)), 1)
        p.anchor_end = p.x > pad + inner_w * 0.6
        cell = (int(p.x // 90), int(p.y // 16))
        p.label = p.kind != "resident" and cell not in seen
        if p.label:
            seen.add(cell)
    return points


def profile_relations(
    stakeholder: Stakeholder, user: Any, reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return an organisation's allies, opponents and relations (declared and inferred).

    Residents appear as their groups (an inferred relation with a group comes from the
    aggregated reports; a declared one is shown by name only to its two sides).
    """
    found = relations.relations_of(stakeholder, user)
    mine = network_permissions.identity_ids(user)
    hidden = {
        other.id
        for r in found
        for other in (r.source, r.target)
        if other.id != stakeholder.id
        and not other.is_organisation
        and not {r.source_id, r.target_id} & mine
    }
    groups = service.resident_groups(hidden)
    allies: dict[int, float] = {}
    opponents: dict[int, float] = {}
    declared = []
    for r in found:
        other = r.target if r.source_id == stakeholder.id else r.source
        shown, label = (other.id, None) if other.id not in hidden else groups[other.id]
        declared.append({"relation": r, "other": shown, "label": label})
        if r.status.value == "retracted" or shown is None:
            continue
        bucket = allies if r.sign > 0 else opponents
        bucket[shown] = bucket.get(shown, 0.0) + r.strength
    inferred = []
    for report in reports:
        for r in report.get("inferred", []):
            if stakeholder.id not in (r["a"], r["b"]):
                continue
            other = r["b"] if r["a"] == stakeholder.id else r["a"]
            inferred.append((other, r))
            bucket = allies if r["sign"] > 0 else opponents
            bucket[other] = bucket.get(other, 0.0) + service.INFERRED_SCALE * r["weight"]
    names = Names(set(allies) | set(opponents) | {o for o, _r in inferred}, *reports)
    names.groups.update({gid: label for gid, label in groups.values() if gid is not None})
    return {
        "declared": declared,
        "allies": sorted(allies, key=lambda i: (-allies[i], i)),
        "opponents": sorted(opponents, key=lambda i: (-opponents[i], i)),
        "inferred": inferred,
        "names": names,
    }
