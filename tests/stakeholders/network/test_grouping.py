"""Known answers for grouping residents (pure: no app, no database)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from stakeholders.network import grouping as g
from stakeholders.network.analysis import analyze

TRIBES = Path(__file__).parents[2] / "data" / "gahuku-gama.tsv"
TRIBE_CAMPS = [{1, 2, 15, 16}, {3, 4, 6, 7, 8, 11, 12}, {5, 9, 10, 13, 14}]


def _key(grouping: g.Grouping, gid: int | None) -> tuple | None:
    return None if gid is None else tuple(grouping.groups[gid].key)


def test_buildings_of_three_stand_alone_and_smaller_ones_merge_into_the_community():
    places = {(1, "3"): 5, (1, "4"): 2, (1, "5"): 1, (1, ""): 1, (2, "1"): 3}
    grouping = g.assign(places, {1: 10, 2: 10})
    assert _key(grouping, grouping.of_place[(1, "3")]) == ("building", 1, "3")
    assert _key(grouping, grouping.of_place[(1, "4")]) == ("community", 1, "")
    assert grouping.of_place[(1, "5")] == grouping.of_place[(1, "")] == grouping.of_place[(1, "4")]
    assert {tuple(x.key): x.size for x in grouping.groups.values()} == {
        ("building", 1, "3"): 5,
        ("community", 1, ""): 4,  # 2 + 1 + 1 (the unverified count here)
        ("building", 2, "1"): 3,
    }
    assert grouping.left_out == 0


def test_small_communities_merge_into_the_street_or_are_left_out_and_counted():
    places = {(1, "3"): 2, (2, "1"): 1, (3, ""): 2, (4, "9"): 4}
    grouping = g.assign(places, {1: 7, 2: 7, 3: 8, 4: 8})
    street = grouping.of_place[(1, "3")]
    assert _key(grouping, street) == ("street", 7, "")
    assert grouping.groups[street].size == 3
    assert grouping.of_place[(2, "1")] == street
    assert grouping.of_place[(3, "")] is None  # street 8's rest: 2 residents
    assert _key(grouping, grouping.of_place[(4, "9")]) == ("building", 4, "9")
    assert grouping.left_out == 2
    residents = {10: (1, "3"), 11: (3, ""), 12: (4, "9")}
    assert grouping.group_of(residents) == {10: street, 11: None, 12: grouping.of_place[(4, "9")]}


def test_a_building_named_with_spaces_is_the_same_place_and_group_ids_are_stable():
    grouping = g.assign({(1, "3 "): 2, (1, "3"): 1}, {1: 1})
    assert _key(grouping, grouping.of_place[(1, "3")]) == ("building", 1, "3")
    assert g.group_id(g.GroupKey("building", 1, "3")) == g.group_id(g.GroupKey("building", 1, "3"))
    ids = {
        g.group_id(g.GroupKey(level, p, b))
        for level in ("building", "community")
        for p in (1, 2)
        for b in ("", "1")
    }
    assert len(ids) == 8 and all(-(2**31) < i < -1 for i in ids)
    with pytest.raises(ValueError):
        g.assign({(1, "3"): -1}, {})


def test_minimum_is_a_parameter():
    grouping = g.assign({(1, "3"): 2}, {1: 1}, minimum=2)
    assert _key(grouping, grouping.of_place[(1, "3")]) == ("building", 1, "3")


def _tribes() -> list[tuple]:
    rv = []
    for line in TRIBES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            a, b, sign = (int(x) for x in line.split())
            rv.append((a, b, sign, 1))
    return rv


def test_gahuku_gama_contracted_onto_its_three_camps():
    edges = _tribes()
    group_of = {n: -(i + 2) for i, camp in enumerate(TRIBE_CAMPS) for n in camp}
    between, internal = g.relabel_edges(edges, group_of)
    # 58 ties: the 27 inside the camps are all cooperation; the 2 frustrated ties of the
    # three-camp optimum are the 2 positive ones between camps 2 and 3.
    assert internal == Counter({(-3, 1): 15, (-2, 1): 6, (-4, 1): 6})
    assert Counter((tuple(sorted(e[:2])), e[2]) for e in between) == Counter(
        {((-3, -2), -1): 11, ((-4, -2), -1): 11, ((-4, -3), -1): 7, ((-4, -3), 1): 2}
    )
    nodes = g.contract_nodes([(i, "social_organization") for i in range(1, 17)], group_of)
    assert sorted(nodes) == [(-4, "resident"), (-3, "resident"), (-2, "resident")]
    report = analyze(nodes, between)
    assert sorted(len(b.members) for b in report.blocs) == [1, 1, 1]
    assert report.unbalanced_triad_count == 1 and report.unbalanced_triads[0].negative == 3
    assert g.internal_counts(internal) == {
        -2: {"positive": 6, "negative": 0},
        -3: {"positive": 15, "negative": 0},
        -4: {"positive": 6, "negative": 0},
    }


def test_merge_relations_nets_signs_and_keeps_counts():
    group_of = {1: -5, 2: -5, 3: -5, 4: None}
    rows = [
        {
            "a": 1,
            "b": 9,
            "sign": -1,
            "weight": 0.5,
            "shared": 4,
            "agreed": 1,
            "disagreed": 3,
            "topics_agreed": ["p/1"],
            "topics_disagreed": ["p/2"],
            "when": "2026-01-02",
        },
        {
            "a": 9,
            "b": 2,
            "sign": 1,
            "weight": 0.2,
            "shared": 2,
            "agreed": 2,
            "disagreed": 0,
            "topics_agreed": ["p/1", "p/3"],
            "topics_disagreed": [],
            "when": "2026-01-05",
        },
        {
            "a": 3,
            "b": 9,
            "sign": -1,
            "weight": 0.1,
            "shared": 1,
            "agreed": 0,
            "disagreed": 1,
            "topics_agreed": [],
            "topics_disagreed": ["p/2"],
            "when": None,
        },
        {"a": 1, "b": 2, "sign": 1, "weight": 0.9, "shared": 3, "agreed": 3, "disagreed": 0},
        {"a": 4, "b": 9, "sign": 1, "weight": 0.9, "shared": 3, "agreed": 3, "disagreed": 0},
        {"a": 7, "b": 8, "sign": 1, "weight": 0.3, "shared": 1, "agreed": 1, "disagreed": 0},
        {"a": 8, "b": 7, "sign": -1, "weight": 0.3, "shared": 1, "agreed": 0, "disagreed": 1},
    ]
    merged, internal = g.merge_relations(rows, group_of)
    assert merged == [
        {
            "a": -5,
            "b": 9,
            "sign": -1,
            "weight": 0.4,
            "shared": 7,
            "agreed": 3,
            "disagreed": 4,
            "pairs": 3,
            "topics_agreed": ["p/1", "p/3"],
            "topics_disagreed": ["p/2"],
            "when": "2026-01-05",
        },
    ]  # 7–8 cancel out; 4 is left out; 1–2 is inside the group
    assert internal == Counter({(-5, 1): 1})


def test_relabel_rows_and_nodes_keep_organisations():
    group_of = {1: -5, 2: -5, 3: None}
    rows = [(1, "p/1", 1), (2, "p/1", -1), (3, "p/1", 1), (9, "p/1", 1)]
    assert g.relabel_rows(rows, group_of) == [(-5, "p/1", 1), (-5, "p/1", -1), (9, "p/1", 1)]
    nodes = [(1, "resident"), (2, "resident"), (3, "resident"), (9, "business")]
    assert g.contract_nodes(nodes, group_of) == [(-5, "resident"), (9, "business")]
