"""Server-side SVG charts (pure): valid markup, escaping, no inline styles, links, axes."""

from __future__ import annotations

import ast
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from proposals.tracking import charts
from proposals.tracking.charts import Series, bar_chart, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
LABELS = ["09-01", "09-08", "09-15", "09-22"]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (our own markup)


def test_the_module_is_pure():
    tree = ast.parse(Path(charts.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & {"flask", "sqlalchemy", "coord", "markupsafe", "flask_babel"}


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 10, [0, 2.5, 5, 7.5, 10]),
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1]),
        (0, 0, [0, 0.25, 0.5, 0.75, 1]),
        (0, 4.6, [0, 2, 4, 6]),
        (-3, 5, [-4, -2, 0, 2, 4, 6]),
        (0, 1234, [0, 500, 1000, 1500]),
    ],
)
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == expected


def test_nice_ticks_cover_the_range():
    for high in (0.3, 1, 3, 9.99, 17, 250, 4321):
        ticks = nice_ticks(0, high)
        assert ticks[0] <= 0 and ticks[-1] >= high
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert len(steps) == 1


def test_nice_ticks_refuse_nonsense():
    with pytest.raises(ValueError):
        nice_ticks(0, float("inf"))
    with pytest.raises(ValueError):
        nice_ticks(0, 1, count=1)


def test_a_bar_chart_is_valid_accessible_svg_with_one_bar_per_value():
    markup = bar_chart(
        LABELS,
        [Series("收到", [4, 6, 0, 2]), Series("解决", [1, None, 3, 2])],
        title="每周诉求",
        desc="收到和解决的诉求数",
        chart_id="c1",
    )
    root = parse(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "每周诉求"
    assert root.find(f"{SVG}desc").text == "收到和解决的诉求数"
    bars = root.findall(f".//{SVG}g[@class='series series-0']/{SVG}rect") + root.findall(
        f".//{SVG}g[@class='series series-1']/{SVG}rect"
    )
    assert len(bars) == 7  # the None value has no bar
    tips = [b.find(f"{SVG}title").text for b in bars]
    assert "09-08 · 收到: 6" in tips and "09-15 · 解决: 3" in tips
    # Taller values make taller bars, all standing on the same baseline.
    heights = {t: float(b.get("height")) for t, b in zip(tips, bars, strict=True)}
    assert heights["09-08 · 收到: 6"] > heights["09-01 · 收到: 4"] > heights["09-22 · 收到: 2"]
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 1) for b in bars if b != "0"}
    assert len(bottoms - {min(bottoms)}) <= 1  # the zero bar is a hairline at the baseline


def test_no_inline_styles_anywhere():
    for markup in (
        bar_chart(LABELS, [Series("a", [1, 2, 3, 4])], title="t"),
        line_chart(LABELS, [Series("a", [1, None, 3, 4]), Series("b", [2, 2, 2, 2])], title="t"),
    ):
        assert "style=" not in markup and "<style" not in markup and "<script" not in markup
        for element in parse(markup).iter():
            assert "style" not in element.attrib


def test_text_and_links_are_escaped():
    evil = '"><script>alert(1)</script>'
    markup = bar_chart(
        ["<b>", "a&b"],
        [Series(evil, [1, 2], links=["/items?metric=received&from=2026-09-01", 'javascript:"x'])],
        title=evil,
        desc=evil,
        chart_id='x"y',
    )
    assert "<script>" not in markup and "<b>" not in markup
    root = parse(markup)  # still well-formed XML
    assert root.find(f"{SVG}title").text == evil
    links = root.findall(f".//{SVG}a")
    assert links[0].get("href") == "/items?metric=received&from=2026-09-01"
    assert "&amp;from=" in markup


def test_bars_and_points_link_to_their_items():
    links = [f"/dashboard/items?week={i}" for i in range(4)]
    for chart in (bar_chart, line_chart):
        root = parse(chart(LABELS, [Series("a", [1, 2, None, 4], links=links)], title="t"))
        hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
        assert hrefs == [links[0], links[1], links[3]]


def test_a_line_chart_breaks_at_missing_values():
    root = parse(line_chart(LABELS, [Series("中位数", [1.5, 2.0, None, 4.25])], title="t"))
    lines = root.findall(f".//{SVG}polyline")
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 2
    points = root.findall(f".//{SVG}circle")
    assert [p.find(f"{SVG}title").text for p in points] == [
        "09-01 · 中位数: 1.5",
        "09-08 · 中位数: 2",
        "09-22 · 中位数: 4.25",
    ]
    ys = [float(p.get("cy")) for p in points]
    assert ys[0] > ys[1] > ys[2]  # higher values are drawn higher


def test_axis_labels_are_thinned_but_keep_the_last():
    labels = [f"w{i}" for i in range(30)]
    markup = bar_chart(labels, [Series("a", list(range(30)))], title="t")
    shown = re.findall(r">(w\d+)</text>", markup)
    assert shown[0] == "w0" and shown[-1] == "w29" and len(shown) <= 16


def test_a_legend_appears_for_several_series_only():
    one = parse(bar_chart(LABELS, [Series("a", [1, 2, 3, 4])], title="t"))
    two = parse(
        bar_chart(LABELS, [Series("a", [1, 2, 3, 4]), Series("b", [1, 1, 1, 1])], title="t")
    )
    assert one.find(f".//{SVG}g[@class='legend']") is None
    legend = two.find(f".//{SVG}g[@class='legend']")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["a", "b"]


def test_empty_and_all_zero_series_draw_an_axis():
    root = parse(bar_chart(LABELS, [Series("a", [None, None, None, None])], title="t"))
    assert root.findall(f".//{SVG}rect") == []
    assert [t.text for t in root.iter(f"{SVG}text")][:2] == ["0", "0.25"]
    parse(line_chart(["only"], [Series("a", [0])], title="t"))


@pytest.mark.parametrize(
    "series",
    [
        [Series("a", [1, 2, 3])],
        [Series("a", [1, 2, 3, 4], links=["/x"])],
        [Series("a", [1, 2, float("nan"), 4])],
        [],
    ],
)
def test_bad_input_is_refused(series):
    with pytest.raises(ValueError):
        bar_chart(LABELS, series, title="t")
