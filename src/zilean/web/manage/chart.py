"""A bar chart of hours per week as plain SVG markup, rendered on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 60, 28, 12


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label under the axis, its value and the text a screen reader gets."""

    label: str
    value: float
    title: str


def nice_ceiling(value: float) -> float:
    """A round number ≥ value for the axis top (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.1
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def bar_chart(bars: list[Bar], title: str) -> str:
    """An accessible SVG bar chart (role img, a <title>, one <title> per bar)."""
    top = nice_ceiling(max((b.value for b in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(1, len(bars))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:g}</text>'
        )
    for i, bar in enumerate(bars):
        h = plot_h * (bar.value / top) if top else 0
        x = LEFT + i * step + step * 0.15
        y = TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" rx="3">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
        every_other = " odd" if (len(bars) - 1 - i) % 2 else ""  # narrow screens label every other bar
        parts.append(
            f'<text class="axis label{every_other}" x="{x + step * 0.35:.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{escape(bar.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
