"""Known answers for the pure stakeholder-network analysis (no app, no database)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stakeholders.network.analysis import (
    KINDS,
    ROLES,
    NetworkReport,
    analyze,
    conflict_paths,
    infer_relations,
    liaison_facts,
    nearest_relations,
)

TRIBES_COPY = Path(__file__).parents[2] / "data" / "gahuku-gama.tsv"
TRIBES_SHARED = Path(__file__).parents[4] / "shared" / "data" / "gahuku-gama.tsv"
TRIBE_CAMPS = {
    frozenset({1, 2, 15, 16}),
    frozenset({3, 4, 6, 7, 8, 11, 12}),
    frozenset({5, 9, 10, 13, 14}),
}


# --------------------------------------------------------------------------- helpers


def read_tribes(path: Path) -> tuple[list, list]:
    """Return nodes and edges of the Gahuku-Gama file (comment lines skipped)."""
    edges = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            a, b, sign = (int(x) for x in line.split())
            edges.append((a, b, sign, 1))
    nodes = [(i, "social_organization") for i in range(1, 17)]
    return nodes, edges


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Return the adjusted Rand index of two labelings (Hubert & Arabie 1985)."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index = pairs(table)
    rows, cols = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / pairs(np.array([a.size]))
    top = (rows + cols) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


def planted(
    n: int,
    *,
    camps: int = 3,
    degree: float = 10,
    within: float = 0.7,
    noise: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, list, list]:
    """Return (camp of each node, nodes, edges) with planted camps and sign noise.

    A share ``within`` of the edges joins two members of one camp (positive), the rest
    join different camps (negative); then a share ``noise`` of the signs is flipped.
    """
    rng = np.random.default_rng(seed)
    camp = rng.integers(camps, size=n)
    by_camp = [np.flatnonzero(camp == c) for c in range(camps)]
    m = int(n * degree / 2)
    edges: dict[tuple[int, int], int] = {}
    while len(edges) < m:
        a = rng.integers(n, size=2 * m)
        inside = rng.random(2 * m) < within
        b = rng.integers(n, size=2 * m)
        for x, y, ins in zip(a.tolist(), b.tolist(), inside.tolist(), strict=True):
            if ins:
                members = by_camp[camp[x]]
                y = int(members[y % members.size])
            elif camp[x] == camp[y]:
                continue
            key = (min(x, y), max(x, y))
            if x == y or key in edges:
                continue
            sign = 1 if ins else -1
            edges[key] = -sign if rng.random() < noise else sign
            if len(edges) == m:
                break
    kinds = [KINDS[int(k)] for k in rng.integers(len(KINDS), size=n)]
    nodes = list(enumerate(kinds))
    return camp, nodes, [(a, b, s, 1.0) for (a, b), s in edges.items()]


def camp_labels(report: NetworkReport, ids: list) -> np.ndarray:
    return np.array([report.bloc_of[i] for i in ids])


def positive_graph(report: NetworkReport) -> nx.Graph:
    g = report.graph
    pos = nx.Graph()
    pos.add_nodes_from(g.nodes(data=True))
    pos.add_edges_from((a, b, d) for a, b, d in g.edges(data=True) if d["sign"] > 0)
    return pos


# --------------------------------------------------------------------------- blocs


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(TRIBES_COPY, id="copy"),
        pytest.param(
            TRIBES_SHARED,
            id="shared",
            marks=pytest.mark.skipif(
                not TRIBES_SHARED.exists(), reason=f"{TRIBES_SHARED} is not present"
            ),
        ),
    ],
)
def test_tribes_three_camps_with_two_frustrated_edges(path: Path) -> None:
    nodes, edges = read_tribes(path)
    assert len(edges) == 58
    report = analyze(nodes, edges)
    assert {b.members for b in report.blocs} == TRIBE_CAMPS
    assert [len(b.members) for b in report.blocs] == [7, 5, 4]
    assert report.frustration.count == 2
    assert {frozenset(e) for e in report.frustration.edges} == {
        frozenset({5, 7}),
        frozenset({7, 13}),
    }
    assert report.frustration.weighted_share == pytest.approx(2 / 58)
    by_k = report.details["blocs"]["largest_component"]["frustration_by_k"]
    assert by_k[1] == 29 and by_k[2] == 7 and by_k[3] == 2
    assert report.blocs[0].composition == {
        "government": 0,
        "business": 0,
        "social_organization": 7,
        "resident": 0,
    }
    assert report.isolated == []
    assert report.polarization.value > 0.5


def test_tribes_copy_keeps_the_origin_header() -> None:
    head = TRIBES_COPY.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0].startswith("# Gahuku-Gama")
    assert "Read (1954)" in head[1] and "KONECT" in head[2]


def test_planted_camps_are_recovered() -> None:
    camp, nodes, edges = planted(900, seed=3)
    report = analyze(nodes, edges)
    assert len(report.blocs) == 3
    ids = sorted(report.bloc_of)
    assert adjusted_rand_index(camp[ids], camp_labels(report, ids)) >= 0.95
    assert report.frustration.weighted_share == pytest.approx(0.1, abs=0.03)
    assert report.polarization.value > 0.4


def test_planted_camps_with_weights_and_five_camps() -> None:
    camp, nodes, edges = planted(600, camps=5, degree=20, within=0.6, noise=0.05, seed=1)
    rng = np.random.default_rng(0)
    edges = [(a, b, s, float(rng.choice([0.5, 1.0, 2.0]))) for a, b, s, _ in edges]
    report = analyze(nodes, edges)
    ids = sorted(report.bloc_of)
    assert len(report.blocs) == 5
    assert adjusted_rand_index(camp[ids], camp_labels(report, ids)) >= 0.95


def test_two_camps_balanced_graph_is_fully_polarized() -> None:
    # Two cliques of five, all ties inside positive, all ties across negative.
    left, right = range(5), range(5, 10)
    nodes = [(i, "resident") for i in range(10)]
    edges = [(a, b, 1, 1) for grp in (left, right) for a, b in itertools.combinations(grp, 2)]
    edges += [(a, b, -1, 1) for a in left for b in right]
    report = analyze(nodes, edges)
    assert {b.members for b in report.blocs} == {frozenset(left), frozenset(right)}
    assert report.frustration.count == 0
    assert report.frustration.weighted_share == 0.0
    assert report.polarization.value == pytest.approx(1.0)
    assert report.polarization.camp_balance == pytest.approx(1.0)
    assert report.unbalanced_triad_count == 0


def test_random_signs_do_not_look_polarized() -> None:
    rng = np.random.default_rng(7)
    _, nodes, edges = planted(400, seed=7)
    edges = [(a, b, int(rng.choice([-1, 1])), w) for a, b, _, w in edges]
    report = analyze(nodes, edges)
    assert report.polarization.value < 0.15


def test_lone_dissenter_is_not_a_split_community() -> None:
    # A positive clique of 12 and one outsider in conflict with a single member.
    nodes = [(i, "resident") for i in range(13)]
    edges = [(a, b, 1, 1) for a, b in itertools.combinations(range(12), 2)]
    edges.append((12, 0, -1, 1))
    report = analyze(nodes, edges)
    assert report.frustration.count == 0
    assert len(report.blocs) == 2
    assert report.polarization.value < 0.2


RAW_EDGES = st.lists(
    st.tuples(
        st.integers(0, 9),
        st.integers(0, 9),
        st.sampled_from([-1, 1]),
        st.sampled_from([0.5, 1.0, 2.0]),
    ),
    max_size=35,
)


@given(RAW_EDGES)
@settings(max_examples=20, deadline=None)
def test_invariants_on_random_small_graphs(raw: list) -> None:
    nodes = [(i, KINDS[i % 4]) for i in range(10)]
    edges = [e for e in raw if e[0] != e[1]]
    report = analyze(nodes, edges)
    members = [m for b in report.blocs for m in b.members]
    assert len(members) == len(set(members))
    assert set(members) | set(report.isolated) == set(range(10))
    assert not set(members) & set(report.isolated)
    g = report.graph
    frustrated = {
        frozenset((a, b))
        for a, b, d in g.edges(data=True)
        if (d["sign"] > 0) != (report.bloc_of[a] == report.bloc_of[b])
    }
    assert {frozenset(e) for e in report.frustration.edges} == frustrated
    assert report.frustration.count == len(frustrated)
    assert 0.0 <= report.polarization.value <= 1.0
    # No node can move to another bloc of its component and lower the frustration.
    for node, bloc in report.bloc_of.items():
        component = nx.node_connected_component(g, node)
        tie_sum = {report.bloc_of[other]: 0.0 for other in component}
        for other, d in g[node].items():
            tie_sum[report.bloc_of[other]] += d["sign"] * d["weight"]
        assert tie_sum[bloc] >= max(tie_sum.values()) - 1e-9
    unbalanced = sum(
        1
        for a, b, c in itertools.combinations(g.nodes, 3)
        if g.has_edge(a, b)
        and g.has_edge(a, c)
        and g.has_edge(b, c)
        and g[a][b]["sign"] * g[a][c]["sign"] * g[b][c]["sign"] < 0
    )
    assert report.unbalanced_triad_count == unbalanced


# --------------------------------------------------------------------------- edge cases


def test_empty_graph() -> None:
    report = analyze([], [])
    assert report.blocs == []
    assert report.frustration.count == 0 and report.frustration.edges == []
    assert report.frustration.weighted_share == 0.0
    assert report.unbalanced_triads == [] and report.unbalanced_triad_count == 0
    assert report.brokers == []
    assert report.polarization.value == 0.0 and report.polarization.trend == []
    assert report.isolated == []
    assert report.graph.number_of_nodes() == 0


def test_one_node_is_isolated() -> None:
    report = analyze([("street", "government")], [])
    assert report.isolated == ["street"]
    assert report.blocs == []
    assert report.polarization.value == 0.0


def test_isolated_nodes_are_in_no_bloc() -> None:
    nodes = [("a", "resident"), ("b", "resident"), ("c", "business")]
    report = analyze(nodes, [("a", "b", 1, 2.0)])
    assert report.isolated == ["c"]
    assert [b.members for b in report.blocs] == [frozenset({"a", "b"})]
    assert "c" not in report.bloc_of


def test_all_positive_graph_is_one_camp_and_not_polarized() -> None:
    nodes = [(i, KINDS[i % 4]) for i in range(8)]
    edges = [(i, (i + 1) % 8, 1, 1) for i in range(8)] + [(0, 4, 1, 3)]
    report = analyze(nodes, edges)
    assert [len(b.members) for b in report.blocs] == [8]
    assert report.frustration.count == 0
    assert report.polarization.value == 0.0
    assert report.polarization.balance == 1.0
    # Brokers fall back to ordinary betweenness inside the single camp.
    assert report.brokers and report.brokers[0].id in {0, 4}
    assert report.details["betweenness"].startswith("single camp")


def test_all_negative_graph() -> None:
    # A negative triangle needs three camps; a negative 4-cycle needs two.
    nodes = [(i, "resident") for i in range(7)]
    edges = [(0, 1, -1, 1), (1, 2, -1, 1), (0, 2, -1, 1)]
    edges += [(3, 4, -1, 1), (4, 5, -1, 1), (5, 6, -1, 1), (6, 3, -1, 1)]
    report = analyze(nodes, edges)
    assert report.frustration.count == 0
    camps = {b.members for b in report.blocs}
    assert {frozenset({0}), frozenset({1}), frozenset({2})} <= camps
    assert {frozenset({3, 5}), frozenset({4, 6})} <= camps
    assert report.polarization.value == 0.0  # shuffling signs cannot change anything
    assert report.unbalanced_triad_count == 1
    assert report.unbalanced_triads[0].mediator is None
    assert report.unbalanced_triads[0].negative == 3
    assert report.brokers == []


def test_parallel_edges_merge_into_net_signed_weight() -> None:
    nodes = [("a", "resident"), ("b", "resident"), ("c", "resident")]
    edges = [
        ("a", "b", 1, 2.0),
        ("b", "a", -1, 0.5),  # net +1.5
        ("b", "c", 1, 1.0),
        ("c", "b", -1, 1.0),  # cancels out
    ]
    report = analyze(nodes, edges)
    g = report.graph
    assert g["a"]["b"] == {"sign": 1, "weight": 1.5}
    assert not g.has_edge("b", "c")
    assert report.isolated == ["c"]
    assert report.details["edges_cancelled"] == 1


def test_graph_keeps_sign_apart_from_positive_weight() -> None:
    nodes = [("s", "government"), ("b", "business")]
    report = analyze(nodes, [("s", "b", -1, 2)])
    g = report.graph
    assert g.nodes["s"]["kind"] == "government"
    assert g["s"]["b"]["sign"] == -1
    assert g["s"]["b"]["weight"] == 2.0
    assert all(d["weight"] > 0 for _, _, d in g.edges(data=True))


def test_duplicate_node_with_same_kind_is_fine() -> None:
    report = analyze([("a", "resident"), ("a", "resident"), ("b", "resident")], [])
    assert report.isolated == ["a", "b"]


def test_numeric_types_are_accepted() -> None:
    nodes = [(1, "resident"), (2, "resident"), (3, "resident"), (4, "resident")]
    edges = [(1, 2, 1, Fraction(1, 2)), (2, 3, -1.0, np.float64(2.0)), (3, 4, 1, Decimal("1.5"))]
    report = analyze(nodes, edges)
    assert report.graph[1][2]["weight"] == 0.5
    assert report.graph[3][4]["weight"] == 1.5


BAD_INPUT = {
    "sign zero": ([("a", "resident"), ("b", "resident")], [("a", "b", 0, 1)]),
    "sign two": ([("a", "resident"), ("b", "resident")], [("a", "b", 2, 1)]),
    "sign text": ([("a", "resident"), ("b", "resident")], [("a", "b", "+", 1)]),
    "weight zero": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, 0)]),
    "weight negative": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, -2)]),
    "weight text": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, "heavy")]),
    "weight nan": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, math.nan)]),
    "weight inf": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, math.inf)]),
    "weight none": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, None)]),
    "weight bool": ([("a", "resident"), ("b", "resident")], [("a", "b", 1, True)]),
    "unknown node": ([("a", "resident")], [("a", "z", 1, 1)]),
    "unknown int node": ([(1, "resident"), (2, "resident")], [(1, 3, 1, 1)]),
    "self-loop": ([("a", "resident")], [("a", "a", 1, 1)]),
    "duplicate id": ([("a", "resident"), ("a", "business")], []),
    "unknown kind": ([("a", "alien")], []),
    "kind not hashable": ([("a", ["resident"])], []),
    "node not a pair": ([("a", "resident", "x")], []),
    "edge too short": ([("a", "resident"), ("b", "resident")], [("a", "b", 1)]),
    "edge too long": (
        [("a", "resident"), ("b", "resident")],
        [("a", "b", 1, 1, None, "extra")],
    ),
    "edge not a tuple": ([("a", "resident")], [42]),
    "when not a datetime": (
        [("a", "resident"), ("b", "resident")],
        [("a", "b", 1, 1, "2024-01-01")],
    ),
    "naive and aware times": (
        [("a", "resident"), ("b", "resident"), ("c", "resident")],
        [
            ("a", "b", 1, 1, datetime(2024, 1, 1)),
            ("b", "c", 1, 1, datetime(2024, 1, 1, tzinfo=UTC)),
        ],
    ),
}


@pytest.mark.parametrize(("nodes", "edges"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_malformed_input_raises_value_error(nodes: list, edges: list) -> None:
    with pytest.raises(ValueError):
        analyze(nodes, edges)


def test_now_must_match_edge_times() -> None:
    nodes = [("a", "resident"), ("b", "resident")]
    edges = [("a", "b", 1, 1, datetime(2024, 1, 1, tzinfo=UTC))]
    with pytest.raises(ValueError):
        analyze(nodes, edges, now=datetime(2024, 2, 1))
    with pytest.raises(ValueError):
        analyze(nodes, edges, now="2024-02-01")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- triads


def test_unbalanced_triad_names_the_mediator() -> None:
    # The street office cooperates with both, but the two are in conflict.
    nodes = [("office", "government"), ("shop", "business"), ("club", "social_organization")]
    nodes += [("x", "resident"), ("y", "resident"), ("z", "resident")]
    edges = [
        ("office", "shop", 1, 2),
        ("office", "club", 1, 1),
        ("shop", "club", -1, 3),
        ("x", "y", -1, 1),
        ("y", "z", -1, 1),
        ("x", "z", -1, 1),
        ("office", "x", 1, 1),
    ]
    report = analyze(nodes, edges)
    assert report.unbalanced_triad_count == 2
    first, second = report.unbalanced_triads
    assert first.nodes == frozenset({"office", "shop", "club"})
    assert first.mediator == "office"
    assert first.weight == 6.0
    assert first.negative == 1
    assert second.nodes == frozenset({"x", "y", "z"})
    assert second.mediator is None
    assert second.negative == 3


def test_balanced_triangles_are_not_listed() -> None:
    nodes = [(i, "resident") for i in range(6)]
    edges = [(0, 1, 1, 1), (1, 2, 1, 1), (0, 2, 1, 1)]  # + + +
    edges += [(3, 4, 1, 1), (4, 5, -1, 1), (3, 5, -1, 1)]  # + - -
    report = analyze(nodes, edges)
    assert report.unbalanced_triad_count == 0
    assert report.details["triangles"] == 2


def test_triads_match_brute_force() -> None:
    rng = np.random.default_rng(11)
    _, nodes, edges = planted(60, degree=12, within=0.5, noise=0.3, seed=11)
    edges = [(a, b, s, float(rng.integers(1, 4))) for a, b, s, _ in edges]
    report = analyze(nodes, edges)
    g = report.graph
    expected = []
    for a, b, c in itertools.combinations(sorted(g.nodes), 3):
        if g.has_edge(a, b) and g.has_edge(a, c) and g.has_edge(b, c):
            signs = [g[a][b]["sign"], g[a][c]["sign"], g[b][c]["sign"]]
            if signs.count(-1) % 2 == 1:
                weight = g[a][b]["weight"] + g[a][c]["weight"] + g[b][c]["weight"]
                expected.append((weight, frozenset({a, b, c})))
    assert report.unbalanced_triad_count == len(expected) > 0
    assert report.details["triangles"] == sum(nx.triangles(g).values()) // 3
    got = [(t.weight, t.nodes) for t in report.unbalanced_triads]
    assert sorted(w for w, _ in got) == sorted(w for w, _ in expected)
    assert {n for _, n in got} == {n for _, n in expected}
    for t in report.unbalanced_triads:
        if t.mediator is not None:
            others = t.nodes - {t.mediator}
            assert all(g[t.mediator][o]["sign"] == 1 for o in others)
            assert g[min(others)][max(others)]["sign"] == -1


def test_triad_list_is_capped_but_counted() -> None:
    # A hub cooperating with 30 stakeholders who all fight each other: C(30, 2) triads.
    nodes = [(i, "resident") for i in range(31)]
    edges = [(0, i, 1, 1) for i in range(1, 31)]
    edges += [(a, b, -1, 1) for a, b in itertools.combinations(range(1, 31), 2)]
    report = analyze(nodes, edges)
    negative_only = math.comb(30, 3)
    assert report.unbalanced_triad_count == math.comb(30, 2) + negative_only
    assert len(report.unbalanced_triads) == 200
    # The mediator triads weigh the same as the all-negative ones (3 each).
    assert all(t.weight == 3.0 for t in report.unbalanced_triads)


# --------------------------------------------------------------------------- brokers


def test_broker_measures_match_networkx() -> None:
    rng = np.random.default_rng(5)
    _, nodes, edges = planted(150, degree=8, within=0.6, noise=0.15, seed=5)
    edges = [(a, b, s, float(rng.integers(1, 4))) for a, b, s, _ in edges]
    report = analyze(nodes, edges)
    assert report.details["betweenness"].startswith("between camps, exact")
    pos = positive_graph(report)
    camps = [set(b.members) for b in report.blocs]
    raw = dict.fromkeys(pos.nodes, 0.0)
    for i, j in itertools.permutations(range(len(camps)), 2):
        part = nx.betweenness_centrality_subset(pos, camps[i], camps[j], normalized=False)
        for node, value in part.items():
            raw[node] += value
    sizes = [len(c) for c in camps]
    pairs = (sum(sizes) ** 2 - sum(s * s for s in sizes)) / 2
    constraint = nx.constraint(pos, weight="weight")
    effective = nx.effective_size(pos)
    assert report.brokers
    for broker in report.brokers:
        own = sizes[report.bloc_of[broker.id]]
        expected = raw[broker.id] / (pairs - (sum(sizes) - own))
        assert broker.betweenness == pytest.approx(expected, rel=1e-9)
        assert broker.score == broker.betweenness
        assert broker.constraint == pytest.approx(constraint[broker.id], rel=1e-9)
        assert broker.effective_size == pytest.approx(effective[broker.id], rel=1e-9)
    listed = {b.id for b in report.brokers}
    assert listed == {v for v, x in raw.items() if x > 1e-12} or len(listed) == 100
    scores = [b.score for b in report.brokers]
    assert scores == sorted(scores, reverse=True)


def brute_force_roles(pos: nx.Graph, v: object) -> dict[str, int]:
    kind = nx.get_node_attributes(pos, "kind")
    counts = dict.fromkeys(ROLES, 0)
    for a, b in itertools.permutations(pos[v], 2):
        if pos.has_edge(a, b):
            continue
        ga, gv, gb = kind[a], kind[v], kind[b]
        if ga == gv == gb:
            counts["coordinator"] += 1
        elif ga == gb:
            counts["itinerant"] += 1
        elif ga == gv:
            counts["representative"] += 1
        elif gb == gv:
            counts["gatekeeper"] += 1
        else:
            counts["liaison"] += 1
    return counts


def test_brokerage_roles_match_brute_force() -> None:
    _, nodes, edges = planted(120, degree=9, within=0.5, noise=0.2, seed=9)
    report = analyze(nodes, edges)
    pos = positive_graph(report)
    assert report.brokers
    for broker in report.brokers:
        assert broker.roles == brute_force_roles(pos, broker.id)
        assert broker.roles["gatekeeper"] == broker.roles["representative"]


def volunteer_network() -> tuple[list, list]:
    nodes = [
        ("street office", "government"),
        ("volunteers", "social_organization"),
        ("bakery", "business"),
        ("pharmacy", "business"),
        ("owners", "resident"),
        ("tenants", "resident"),
    ]
    edges = [
        ("street office", "volunteers", 1, 1),
        ("volunteers", "bakery", 1, 1),
        ("volunteers", "pharmacy", 1, 1),
        ("bakery", "pharmacy", 1, 1),
        ("street office", "owners", 1, 1),
        ("owners", "tenants", 1, 1),
        ("bakery", "tenants", -1, 2),
        ("pharmacy", "tenants", -1, 2),
        ("volunteers", "tenants", -1, 1),
    ]
    return nodes, edges


def test_liaison_fact_as_plain_data() -> None:
    nodes, edges = volunteer_network()
    report = analyze(nodes, edges)
    volunteers = next(b for b in report.brokers if b.id == "volunteers")
    assert volunteers.roles["liaison"] == 4  # 2 open pairs, both directions
    facts = liaison_facts(report, "volunteers")
    assert facts == [
        {
            "broker": "volunteers",
            "broker_kind": "social_organization",
            "role": "liaison",
            "between": [
                {"kind": "government", "members": ["street office"]},
                {"kind": "business", "members": ["bakery", "pharmacy"]},
            ],
            "pairs": 2,
        }
    ]
    assert liaison_facts(report, "tenants") == []
    with pytest.raises(ValueError):
        liaison_facts(report, "nobody")


def test_large_graph_samples_betweenness_sources() -> None:
    _, nodes, edges = planted(2000, seed=2)
    report = analyze(nodes, edges)
    assert "sampled" in report.details["betweenness"]
    assert report.brokers
    assert set(report.timings) >= {"blocs", "frustration", "triads", "brokers", "polarization"}


def test_progress_is_reported() -> None:
    nodes, edges = volunteer_network()
    seen: list[float] = []
    report = analyze(nodes, edges, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert report.timings["total"] >= 0


# --------------------------------------------------------------------------- trend


def test_polarization_trend_over_monthly_windows() -> None:
    left, right = range(6), range(6, 12)
    nodes = [(i, "resident") for i in range(12)]
    end = datetime(2024, 6, 15, 12, 0)
    rng = np.random.default_rng(0)
    edges = []
    # Three calm months with random signs, then three split ones; May has no ties.
    for month in (1, 2, 3, 4, 6):
        when = datetime(2024, month, 10)
        for a, b in itertools.combinations(range(12), 2):
            if month <= 3:
                sign = int(rng.choice([-1, 1]))
            else:
                sign = 1 if (a in left) == (b in left) else -1
            if month == 4 and a in right and b in right:
                continue
            edges.append((a, b, sign, 1.0, when))
    report = analyze(nodes, edges, now=end)
    trend = report.polarization.trend
    assert [w for w, _ in trend] == [datetime(2024, m, 15, 12, 0) for m in range(1, 7)]
    values = [v for _, v in trend]
    assert values[4] is None  # nothing happened in May
    assert values[5] == pytest.approx(1.0)
    assert max(values[1:3]) < 0.3
    # Without now, the windows end at the latest edge time.
    default = analyze(nodes, edges).polarization.trend
    assert default[-1][0] == datetime(2024, 6, 10)


def test_trend_with_aware_times_and_month_ends() -> None:
    nodes = [("a", "resident"), ("b", "resident"), ("c", "resident")]
    when = datetime(2024, 3, 31, tzinfo=UTC)
    edges = [("a", "b", 1, 1, when), ("b", "c", -1, 1, when - timedelta(days=40)), ("a", "c", 1, 1)]
    trend = analyze(nodes, edges).polarization.trend
    assert [w for w, _ in trend][-3:] == [
        datetime(2024, 1, 31, tzinfo=UTC),
        datetime(2024, 2, 29, tzinfo=UTC),
        when,
    ]
    assert len(trend) == 6


def test_untimed_edges_give_no_trend() -> None:
    nodes, edges = volunteer_network()
    assert analyze(nodes, edges).polarization.trend == []


# --------------------------------------------------------------------------- conflict paths


def coi_network() -> tuple[list, list]:
    nodes = [
        ("zhang", "resident"),
        ("green property", "business"),
        ("owners committee", "social_organization"),
        ("street office", "government"),
        ("li", "resident"),
        ("builders", "business"),
    ]
    edges = [
        ("zhang", "green property", "membership", "Zhang sits on Green Property's board"),
        ("green property", "owners committee", "contract", "Green Property manages the estate"),
        ("zhang", "li", "affiliation", "Zhang and Li run the dance club"),
        ("li", "owners committee", "membership", "Li chairs the owners committee"),
        ("zhang", "owners committee", "cooperation", "Zhang volunteers there"),
        ("builders", "street office", "contract", "Builders renovate the office"),
        ("zhang", "builders", "alliance", None),
    ]
    return nodes, edges


def test_conflict_paths_known_paths() -> None:
    nodes, edges = coi_network()
    paths = conflict_paths(nodes, edges, "zhang", "owners committee")
    assert [[(s.source, s.target, s.type) for s in p.steps] for p in paths] == [
        [
            ("zhang", "green property", "membership"),
            ("green property", "owners committee", "contract"),
        ],
        [("zhang", "li", "affiliation"), ("li", "owners committee", "membership")],
    ]
    assert paths[0].explanation == (
        "Zhang sits on Green Property's board; Green Property manages the estate"
    )
    # Walked backwards the steps are reoriented but keep their labels.
    back = conflict_paths(nodes, edges, "owners committee", "zhang")
    assert back[0].steps[0].source == "owners committee"
    assert back[0].steps[0].label == "Green Property manages the estate"


def test_conflict_paths_hops_and_types() -> None:
    nodes, edges = coi_network()
    assert conflict_paths(nodes, edges, "zhang", "owners committee", max_hops=1) == []
    direct = conflict_paths(
        nodes, edges, "zhang", "owners committee", max_hops=1, types=("cooperation",)
    )
    assert [p.explanation for p in direct] == ["Zhang volunteers there"]
    far = conflict_paths(nodes, edges, "li", "street office", max_hops=3)
    assert [len(p.steps) for p in far] == [3]
    assert far[0].explanation.endswith("zhang —alliance— builders; Builders renovate the office")
    assert conflict_paths(nodes, edges, "li", "street office", max_hops=2) == []
    assert conflict_paths(nodes, edges, "zhang", "zhang") == []


@pytest.mark.parametrize(
    "case",
    ["unknown end", "unknown edge node", "self-loop", "bad edge", "bad hops", "bad type"],
)
def test_conflict_paths_rejects_bad_input(case: str) -> None:
    nodes, edges = coi_network()
    a, b, hops = "zhang", "li", 2
    if case == "unknown end":
        b = "wang"
    elif case == "unknown edge node":
        edges = [*edges, ("zhang", "wang", "membership", "")]
    elif case == "self-loop":
        edges = [*edges, ("zhang", "zhang", "membership", "")]
    elif case == "bad edge":
        edges = [*edges, ("zhang", "li")]
    elif case == "bad hops":
        hops = 0
    else:
        edges = [*edges, ("zhang", "li", 3, "")]
    with pytest.raises(ValueError):
        conflict_paths(nodes, edges, a, b, max_hops=hops)


# --------------------------------------------------------------------------- inferred relations


def test_infer_relations_exact_scores() -> None:
    stances = [
        ("a", "p1", 1),
        ("a", "p2", 1),
        ("a", "p3", -1),
        ("a", "p4", 0),
        ("b", "p1", 1),
        ("b", "p2", 1),
        ("b", "p3", -1),
        ("b", "p4", 1),
        ("c", "p1", -1),
        ("c", "p2", -1),
        ("c", "p3", 1),
        ("c", "p4", 1),
        ("d", "p1", 1),
        ("d", "p2", -1),  # d shares only two items with the others
    ]
    rels = infer_relations(stances)
    got = {(r.a, r.b): r for r in rels}
    # a-b: 3 agree, 0 disagree, 4 shared (p4 neutral): 3 / (4 + 2) = 0.5
    ab = got[("a", "b")]
    assert (ab.sign, ab.weight, ab.shared, ab.agreed, ab.disagreed) == (1, 0.5, 4, 3, 0)
    assert ab.items_agreed == ("p1", "p2", "p3") and ab.items_disagreed == ()
    # a-c: 0 agree, 3 disagree: -3 / 6
    ac = got[("a", "c")]
    assert (ac.sign, ac.weight, ac.agreed, ac.disagreed) == (-1, 0.5, 0, 3)
    assert ac.items_disagreed == ("p1", "p2", "p3")
    # b-c: 1 agree (p4), 3 disagree: -2 / 6 = -0.333
    bc = got[("b", "c")]
    assert bc.sign == -1 and bc.weight == pytest.approx(1 / 3)
    assert bc.items_agreed == ("p4",)
    assert not any("d" in pair for pair in got)
    assert [r.weight for r in rels] == sorted((r.weight for r in rels), reverse=True)
    # A higher threshold keeps only the strong ties; a larger prior shrinks them.
    assert {(r.a, r.b) for r in infer_relations(stances, threshold=0.4)} == {("a", "b"), ("a", "c")}
    assert infer_relations(stances, prior=10.0) == []
    # d agrees once and disagrees once with everybody: a zero score is no relation.
    assert len(infer_relations(stances, min_shared=2, threshold=0.0)) == 3


def test_infer_relations_last_stance_wins_and_bad_values() -> None:
    stances = [("a", i, 1) for i in range(3)] + [("b", i, 1) for i in range(3)]
    stances.append(("b", 0, -1))
    (rel,) = infer_relations(stances, threshold=0.0)
    assert (rel.agreed, rel.disagreed) == (2, 1)
    assert infer_relations([]) == []
    with pytest.raises(ValueError):
        infer_relations([("a", "p", 2)])
    with pytest.raises(ValueError):
        infer_relations([("a", "p")])


def test_infer_relations_dense_and_sparse_paths_agree() -> None:
    rng = np.random.default_rng(4)
    side = rng.integers(2, size=60)
    stances = []
    for who in range(60):
        for item in rng.choice(40, 12, replace=False).tolist():
            value = 1 if side[who] == item % 2 else -1
            stances.append((who, item, value if rng.random() > 0.1 else 0))
    dense = infer_relations(stances, min_shared=2)  # density 0.3: dense products
    # Same answers when most stakeholders are silent (sparse products).
    padded = stances + [(1000 + i, 1000 + i, 1) for i in range(3000)]
    padded_rels = infer_relations(padded, min_shared=2)
    assert [(r.a, r.b, r.sign, r.weight, r.shared, r.agreed) for r in padded_rels] == [
        (r.a, r.b, r.sign, r.weight, r.shared, r.agreed) for r in dense
    ]
    for r in dense[:20]:
        assert r.sign == (1 if side[r.a] == side[r.b] else -1)


def test_infer_relations_scales() -> None:
    """2,000 stakeholders x 200 items (its speed: benchmarks/network.py)."""
    rng = np.random.default_rng(0)
    n, m = 2000, 200
    side = rng.integers(4, size=n)
    taste = rng.choice([-1, 1], size=(4, m))
    who = np.repeat(np.arange(n), 40)
    what = np.argsort(rng.random((n, m)), axis=1)[:, :40].ravel()
    value = np.where(rng.random(who.size) < 0.2, 0, taste[side[who], what])
    stances = list(zip(who.tolist(), what.tolist(), value.tolist(), strict=True))
    rels = infer_relations(stances, min_shared=5, threshold=0.5)
    assert len(rels) > 100_000


def test_strongest_ties_match_the_exact_inference_when_nothing_is_cut():
    rng = np.random.default_rng(3)
    rows = [
        (int(s), f"proposal/{int(i)}", int(v))
        for s, i, v in zip(
            rng.integers(1, 40, 900),
            rng.integers(1, 30, 900),
            rng.choice([-1, 0, 1], 900),
            strict=True,
        )
    ]
    exact = {
        (r.a, r.b): (r.sign, round(r.weight, 6), r.shared, r.agreed, r.disagreed)
        for r in infer_relations(rows)
    }
    nearest = {
        (a, b): (1 if sc > 0 else -1, round(abs(sc), 6), sh, (bo + ne) // 2, (bo - ne) // 2)
        for a, b, sc, sh, ne, bo in nearest_relations(rows, neighbours=100)
    }
    assert exact and nearest == exact
    few = nearest_relations(rows, neighbours=2)
    per_node: dict[int, int] = {}
    for a, b, *_ in few:
        per_node[a] = per_node.get(a, 0) + 1
        per_node[b] = per_node.get(b, 0) + 1
    assert len(few) < len(exact) and all(abs(sc) >= 0.3 for _a, _b, sc, *_ in few)
