"""The negotiation panel's aggregation (pure), against tables computed by hand."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from proposals.deliberation import merge, negotiation
from proposals.deliberation.negotiation import (
    KINDS,
    STANCE_LABELS,
    STANCES,
    Cell,
    Segment,
    conditions,
    summarise,
)
from proposals.vocabulary import INTERESTS

# Story 1, the lift in building 3: eight positions.
LIFT = [
    ("resident", "support", ["convenience", "health"], False),  # Wang Guihua, 5th floor
    ("resident", "support", ["convenience"], False),  # another upper-floor resident
    ("resident", "oppose", ["noise", "property_value", "cost"], False),  # ground floor
    ("resident", "conditional", ["cost", "noise"], True),  # Li Ming, condition met
    ("resident", "conditional", ["cost"], False),  # a first-floor resident, still open
    ("social_organization", "support", ["health", "safety"], False),  # volunteers
    ("business", "neutral", ["cost", "business_income"], False),  # property manager
    ("government", "support", ["safety"], False),  # street office
]


def test_stance_distribution_by_kind():
    panel = summarise(LIFT, tuple(INTERESTS))
    assert panel.total == 8
    by_kind = {d.kind: d for d in panel.by_kind}
    assert [d.kind for d in panel.by_kind] == list(KINDS)
    assert by_kind["resident"].counts == {
        "support": 2,
        "conditional": 2,
        "neutral": 0,
        "oppose": 1,
    }
    assert by_kind["resident"].total == 5
    assert by_kind["business"].counts == {
        "support": 0,
        "conditional": 0,
        "neutral": 1,
        "oppose": 0,
    }
    assert by_kind["government"].count("support") == 1
    assert by_kind["social_organization"].count("support") == 1
    assert panel.overall.counts == {"support": 4, "conditional": 2, "neutral": 1, "oppose": 1}


def test_bar_segments_are_percentages_that_add_up():
    panel = summarise(LIFT)
    resident = panel.by_kind[KINDS.index("resident")]
    # 2/5 support, 2/5 conditional, 1/5 oppose; neutral (0) has no segment.
    assert resident.segments == (
        Segment("support", 2, 0.0, 40.0),
        Segment("conditional", 2, 40.0, 40.0),
        Segment("oppose", 1, 80.0, 20.0),
    )
    assert panel.by_kind[KINDS.index("business")].segments == (Segment("neutral", 1, 0.0, 100.0),)


def test_thirds_round_without_losing_the_last_hundredth():
    panel = summarise([("resident", s, [], False) for s in ("support", "neutral", "oppose")])
    segments = panel.by_kind[KINDS.index("resident")].segments
    assert [(s.start, s.width) for s in segments] == [(0.0, 33.33), (33.33, 33.34), (66.67, 33.33)]
    assert sum(s.width for s in segments) == pytest.approx(100.0)


def test_interest_matrix():
    panel = summarise(LIFT, tuple(INTERESTS))
    # Columns: named interests in vocabulary order.
    assert panel.interests == (
        "cost",
        "safety",
        "noise",
        "property_value",
        "business_income",
        "convenience",
        "health",
    )
    matrix = {row.kind: dict(zip(panel.interests, row.cells, strict=True)) for row in panel.matrix}
    assert matrix["resident"]["cost"] == Cell(support=0, conditional=2, neutral=0, oppose=1)
    assert matrix["resident"]["noise"] == Cell(conditional=1, oppose=1)
    assert matrix["resident"]["convenience"] == Cell(support=2)
    assert matrix["resident"]["health"] == Cell(support=1)
    assert matrix["resident"]["property_value"] == Cell(oppose=1)
    assert matrix["resident"]["safety"] == Cell()
    assert matrix["business"]["cost"] == Cell(neutral=1)
    assert matrix["business"]["business_income"] == Cell(neutral=1)
    assert matrix["social_organization"]["health"] == Cell(support=1)
    assert matrix["government"]["safety"] == Cell(support=1)
    assert matrix["government"]["cost"].total == 0


@pytest.mark.parametrize(
    ("cell", "lean"),
    [
        (Cell(), "none"),
        (Cell(support=1), "support"),
        (Cell(conditional=2, oppose=1), "support"),
        (Cell(oppose=2, support=1), "oppose"),
        (Cell(conditional=1, oppose=1), "mixed"),
        (Cell(neutral=3), "neutral"),
        (Cell(support=1, oppose=1, neutral=5), "mixed"),
    ],
)
def test_cell_lean(cell, lean):
    assert cell.lean == lean


def test_conditions_counted():
    panel = summarise(LIFT)
    assert (panel.conditional, panel.conditions_met, panel.conditions_open) == (2, 1, 1)


def test_columns_unknown_interests_last_and_duplicates_once():
    panel = summarise(
        [("resident", "oppose", ["zz_tag", "noise", "noise", "aa_tag"], False)], ("cost", "noise")
    )
    assert panel.interests == ("noise", "aa_tag", "zz_tag")
    row = panel.matrix[KINDS.index("resident")]
    assert row.cells[0] == Cell(oppose=1)


def test_empty():
    panel = summarise([])
    assert panel.total == 0 and panel.interests == ()
    assert all(d.total == 0 and d.segments == () for d in panel.by_kind)
    assert len(panel.matrix) == 4 and all(row.cells == () for row in panel.matrix)


@pytest.mark.parametrize("row", [("alien", "support", [], False), ("resident", "maybe", [], False)])
def test_unknown_kind_or_stance_is_refused(row):
    with pytest.raises(ValueError, match="unknown"):
        summarise([row])


def test_open_conditions_and_the_amendments_that_address_them():
    rows = [
        (11, "resident", "一楼住户不出资，施工避开22:00–07:00", 5, True),  # Li Ming: met by #5
        (12, "resident", "一楼住户不出资", 5, False),  # linked later, not met yet
        (13, "business", "施工期间不影响商铺经营", None, False),  # nobody addresses it
        (14, "social_organization", "配备无障碍设施", 7, False),
        (15, "government", "符合消防规范", 9, False),
    ]
    rv = conditions(rows, {5: "open", 7: "rejected", 9: "withdrawn"})
    assert [c.ref for c in rv.open] == [15, 13, 14, 12]  # ordered by kind
    assert rv.met_count == 1
    by_ref = {c.ref: c for c in rv.open}
    assert (by_ref[12].amendment_id, by_ref[12].amendment_status) == (5, "open")
    assert (by_ref[13].amendment_id, by_ref[13].amendment_status) == (None, None)
    assert by_ref[14].amendment_status == "rejected"
    assert [(a.amendment_id, a.status, a.open, a.met) for a in rv.by_amendment] == [
        (5, "open", (12,), (11,)),
        (7, "rejected", (14,), ()),
        (9, "withdrawn", (15,), ()),
    ]
    assert rv.links_for(5).met == (11,)
    assert rv.links_for(6) is None


def test_labels_cover_every_stance():
    assert set(STANCE_LABELS) == set(STANCES)


@pytest.mark.parametrize("module", [merge, negotiation])
def test_pure_modules_use_the_standard_library_only(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
