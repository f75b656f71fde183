"""Server-side SVG charts: line and bar charts as self-contained ``<svg>`` markup (pure).

The content security policy forbids inline ``style`` attributes, so every colour, width
and font size is an SVG presentation attribute (``fill``, ``stroke``, ``font-size``) and
elements carry class names a stylesheet may refine. Text is escaped here; the markup is
safe to insert into a page as it is. Each chart has a ``<title>`` and ``<desc>`` for
screen readers, a ``<title>`` on every bar and point (the exact value on hover), and
optional links so that every bar or point opens the items behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f5fae", "#b3261e", "#1e7a3c", "#b5620b", "#7a3eb1", "#1f7a6d")
INK, MUTED, GRID = "#1d2433", "#5b6475", "#d9dee7"
MAX_BAR = 36  # px: a few weeks do not make slabs
FONT = "PingFang SC, Hiragino Sans GB, Noto Sans CJK SC, Microsoft YaHei, sans-serif"


@dataclass(frozen=True)
class Series:
    """A named sequence of values (None: no value), optionally with a link per value."""

    name: str
    values: Sequence[float | None]
    links: Sequence[str | None] | None = None
    color: str | None = None


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """Format a coordinate compactly (no exponent, at most two decimals)."""
    rv = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if rv in ("-0", "") else rv


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering [low, high] (about `count` of them)."""
    if count < 2:
        raise ValueError("count must be at least 2")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("bounds must be finite")
    if high < low:
        low, high = high, low
    if high == low:
        high = low + 1
    raw = (high - low) / (count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    rv = []
    value = start
    while value < high + step * 0.5:
        rv.append(round(value, 10))
        value += step
    if rv[-1] < high:
        rv.append(round(value, 10))
    return rv


def _format(value: float, unit: str) -> str:
    """Format a value with at most two decimals (4 → "4", 2.5 → "2.5", 1/3 → "0.33")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text}{unit}"


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: list[float]

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        return self.top + self.plot_height * (1 - (value - lo) / (hi - lo))


def _frame(series: Sequence[Series], width: int, height: int, legend: bool) -> _Frame:
    values = [v for s in series for v in s.values if v is not None]
    high = max(values, default=0.0)
    low = min(0.0, min(values, default=0.0))
    ticks = nice_ticks(low, high if high > low else low + 1)
    return _Frame(width, height, 48, 16, 28 if legend else 12, 36, ticks)


def _open(chart_id: str, frame: _Frame, title: str, desc: str) -> list[str]:
    cid = _attr(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="{_attr(FONT)}" '
        f'font-size="11" fill="{INK}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc or title)}</desc>',
    ]


def _axes(frame: _Frame, labels: Sequence[str], centers: Sequence[float], unit: str) -> list[str]:
    out = ['<g class="axis">']
    for tick in frame.ticks:
        y = _num(frame.y(tick))
        out.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y}" y2="{y}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{frame.left - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{MUTED}">{escape(_format(tick, unit))}</text>'
        )
    step = max(1, math.ceil(len(labels) / 12))
    base = _num(frame.height - frame.bottom)
    for i, (label, x) in enumerate(zip(labels, centers, strict=True)):
        if i % step and i != len(labels) - 1:
            continue
        out.append(
            f'<text x="{_num(x)}" y="{base}" dy="1.4em" text-anchor="middle" '
            f'fill="{MUTED}">{escape(label)}</text>'
        )
    out.append(
        f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    out.append("</g>")
    return out


def _legend(series: Sequence[Series], frame: _Frame) -> list[str]:
    if len(series) < 2:
        return []
    out = ['<g class="legend">']
    x = frame.left
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="8" width="10" height="10" rx="2" fill="{_attr(color)}"/>')
        out.append(f'<text x="{x + 14}" y="13" dy="0.32em">{escape(s.name)}</text>')
        x += 24 + 12 * len(s.name) + 8
    out.append("</g>")
    return out


def _linked(markup: str, link: str | None, label: str) -> str:
    if not link:
        return markup
    return f'<a href="{_attr(link)}" aria-label="{_attr(label)}">{markup}</a>'


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    if not series:
        raise ValueError("a chart needs at least one series")
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels"
            )
        if s.links is not None and len(s.links) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.links)} links for {len(labels)} labels")
        for v in s.values:
            if v is not None and not math.isfinite(v):
                raise ValueError(f"series {s.name!r} has a value that is not finite")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    chart_id: str = "chart",
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> str:
    """Return an SVG chart of grouped bars: one group per label, one bar per series."""
    _check(labels, series)
    frame = _frame(series, width, height, legend=len(series) > 1)
    slot = frame.plot_width / max(len(labels), 1)
    bar = min(max(slot * 0.8 / len(series), 1.0), MAX_BAR)
    group = bar * len(series)
    centers = [frame.left + slot * (i + 0.5) for i in range(len(labels))]
    out = _open(chart_id, frame, title, desc)
    out += _axes(frame, labels, centers, unit)
    zero = frame.y(max(frame.ticks[0], 0.0))
    for k, s in enumerate(series):
        color = _attr(s.color or PALETTE[k % len(PALETTE)])
        out.append(f'<g class="series series-{k}" fill="{color}">')
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = centers[i] - group / 2 + bar * k
            y = frame.y(value)
            top, h = min(y, zero), abs(zero - y)
            tip = f"{labels[i]} · {s.name}: {_format(value, unit)}"
            rect = (
                f'<rect x="{_num(x)}" y="{_num(top)}" width="{_num(bar)}" '
                f'height="{_num(max(h, 0.5))}"><title>{escape(tip)}</title></rect>'
            )
            out.append(_linked(rect, s.links[i] if s.links else None, tip))
        out.append("</g>")
    out += _legend(series, frame)
    out.append("</svg>")
    return "".join(out)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    chart_id: str = "chart",
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> str:
    """Return an SVG line chart; a None value breaks the line."""
    _check(labels, series)
    frame = _frame(series, width, height, legend=len(series) > 1)
    n = len(labels)
    step = frame.plot_width / max(n - 1, 1)
    xs = [frame.left + (step * i if n > 1 else frame.plot_width / 2) for i in range(n)]
    out = _open(chart_id, frame, title, desc)
    out += _axes(frame, labels, xs, unit)
    for k, s in enumerate(series):
        color = _attr(s.color or PALETTE[k % len(PALETTE)])
        out.append(f'<g class="series series-{k}">')
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, value in enumerate(s.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_num(xs[i])},{_num(frame.y(value))}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                out.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                    f'stroke-width="2" stroke-linejoin="round"/>'
                )
        for i, value in enumerate(s.values):
            if value is None:
                continue
            tip = f"{labels[i]} · {s.name}: {_format(value, unit)}"
            dot = (
                f'<circle cx="{_num(xs[i])}" cy="{_num(frame.y(value))}" r="3.5" '
                f'fill="{color}"><title>{escape(tip)}</title></circle>'
            )
            out.append(_linked(dot, s.links[i] if s.links else None, tip))
        out.append("</g>")
    out += _legend(series, frame)
    out.append("</svg>")
    return "".join(out)
