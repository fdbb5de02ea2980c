"""Charts as inline SVG, drawn on the server (pure; escaped text; no scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 260, 70, 40, 20
COLOURS = {"quota": "#5b6b7d", "forecast": "#d98c1f", "actual": "#2f7d4f"}


def _scale(values: Sequence[float]) -> float:
    top = max([*values, 0.0])
    return top * 1.1 if top > 0 else 1.0


def _short(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def lines_chart(
    chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[Decimal]]
) -> str:
    """Lines over months, one per series (``quota``, ``forecast``, ``actual``)."""
    plot_w, plot_h = WIDTH - LEFT - 20, HEIGHT - TOP - BOTTOM
    values = [float(v) for points in series.values() for v in points]
    top = _scale(values)
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h - (v / top) * plot_h

    parts = [_frame(chart_id, title, top, plot_h)]
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS.get(name, "#333")
        coords = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(points))
        parts.append(
            f'<polyline data-series="{escape(name)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" points="{coords}"/>'
        )
        for i, v in enumerate(points):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(float(v)):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {float(v):,.0f}</title></circle>"
            )
        parts.append(_legend(n, name, colour))
    parts.append("</svg>")
    return "".join(parts)


def bars_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float | None]]) -> str:
    """One bar per territory: attainment in percent of quota (a line marks 100%)."""
    plot_w, plot_h = WIDTH - LEFT - 20, HEIGHT - TOP - BOTTOM
    top = max(_scale([v or 0.0 for _, v in bars]), 110.0)
    width = plot_w / max(len(bars), 1)
    parts = [_frame(chart_id, title, top, plot_h, percent=True)]
    hundred = TOP + plot_h - (100 / top) * plot_h
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - 20}" y1="{hundred:.1f}" y2="{hundred:.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    )
    for i, (label, value) in enumerate(bars):
        height = ((value or 0.0) / top) * plot_h
        left = LEFT + i * width + width * 0.15
        colour = COLOURS["actual"] if (value or 0) >= 100 else COLOURS["forecast"]
        shown = "no quota" if value is None else f"{value:.1f}%"
        parts.append(
            f'<rect data-label="{escape(label)}" x="{left:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{width * 0.7:.1f}" height="{height:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {shown}</title></rect>"
            f'<text x="{left + width * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _frame(chart_id: str, title: str, top: float, plot_h: float, percent: bool = False) -> str:
    ticks = []
    for k in range(5):
        value = top * k / 4
        y = TOP + plot_h - (value / top) * plot_h
        text = f"{value:.0f}%" if percent else _short(value)
        ticks.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{text}</text>'
        )
    return (
        f'<svg id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">'
        f"<title>{escape(title)}</title>" + "".join(ticks)
    )


def _legend(n: int, name: str, colour: str) -> str:
    x = LEFT + n * 110
    return (
        f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
        f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>'
    )
