"""Server-side charts as inline SVG: stacked bars per day and ranked horizontal bars.

Drawn here rather than with matplotlib: a chart is about a millisecond instead of tens
of milliseconds plus a second of import, the browser renders the Chinese labels with its
own fonts (no CJK font needed on the server), and no script runs in the page.
bench/staff_report.py measures both. Every label is escaped.
"""

import math
from datetime import date
from typing import Dict, List, Sequence, Tuple

from staff.markup import Html, render

# Colour-blind-safe (Okabe-Ito), then greys for the rest.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000", "#999999")
OTHERS = "其他"
WIDTH = 760
FONT = 12


def _nice_step(maximum: float, ticks: int = 5) -> float:
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return max(1, multiple * power)
    return 10 * power


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def limit_series(series: Dict[str, List[int]], keep: int = len(PALETTE) - 1) -> Dict[str, List[int]]:
    """The `keep` largest series, the rest summed as 其他."""
    ranked = sorted(series.items(), key=lambda item: -sum(item[1]))
    kept = dict(ranked[:keep])
    rest = ranked[keep:]
    if rest:
        kept[OTHERS] = [sum(values) for values in zip(*(values for _, values in rest))]
    return kept


def stacked_bars(title: str, days: Sequence[date], series: Dict[str, List[int]]) -> Html:
    """One bar per day, a segment per series; a legend below."""
    series = limit_series(series)
    left, right, top, plot_height = 48, 12, 28, 200
    plot_width = WIDTH - left - right
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    step = _nice_step(max(totals, default=0))
    top_value = step * max(1, math.ceil(max(totals, default=0) / step))
    slot = plot_width / max(1, len(days))
    bar = max(1.0, slot * 0.7)
    scale = plot_height / top_value
    parts: List[Html] = []
    tick = 0.0
    while tick <= top_value + 1e-9:
        y = top + plot_height - tick * scale
        parts.append(render(
            '<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#e3e5e8"/>'
            '<text x="{tx}" y="{ty}" text-anchor="end" font-size="{size}" fill="#5f6368">{label}</text>',
            x1=left, x2=WIDTH - right, y=f"{y:.1f}", tx=left - 6, ty=f"{y + 4:.1f}", size=FONT,
            label=_number(tick)))
        tick += step
    label_every = max(1, math.ceil(len(days) / 15))
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_height
        for (name, values), colour in zip(series.items(), PALETTE):
            height = values[i] * scale
            if height > 0:
                y -= height
                parts.append(render(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}">'
                    "<title>{tip}</title></rect>",
                    x=f"{x:.1f}", y=f"{y:.1f}", w=f"{bar:.1f}", h=f"{height:.1f}", colour=colour,
                    tip=f"{day.isoformat()} {name}：{values[i]}"))
        if i % label_every == 0:
            parts.append(render(
                '<text x="{x}" y="{y}" text-anchor="middle" font-size="{size}" fill="#5f6368">{label}</text>',
                x=f"{x + bar / 2:.1f}", y=top + plot_height + 16, size=FONT, label=day.strftime("%m-%d")))
    legend_top = top + plot_height + 34
    columns = 3
    for index, ((name, values), colour) in enumerate(zip(series.items(), PALETTE)):
        x = left + (index % columns) * (plot_width / columns)
        y = legend_top + (index // columns) * 18
        parts.append(render(
            '<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
            '<text x="{tx}" y="{ty}" font-size="{size}">{label}</text>',
            x=f"{x:.1f}", y=y, colour=colour, tx=f"{x + 14:.1f}", ty=y + 9, size=FONT,
            label=f"{name}（{sum(values)}）"))
    height = legend_top + math.ceil(max(1, len(series)) / columns) * 18 + 4
    return _svg(title, height, Html("".join(parts)), empty=not any(totals))


def ranked_bars(title: str, items: Sequence[Tuple[str, int]], limit: int = 10) -> Html:
    """Horizontal bars, largest first, with the count at the end of each."""
    items = list(items)[:limit]
    label_width, right, top, row = 230, 60, 28, 24
    bar_space = WIDTH - label_width - right
    largest = max((count for _, count in items), default=0) or 1
    parts: List[Html] = []
    for index, (label, count) in enumerate(items):
        y = top + index * row
        width = bar_space * count / largest
        shown = label if len(label) <= 16 else label[:15] + "…"
        parts.append(render(
            '<text x="{lx}" y="{ty}" text-anchor="end" font-size="{size}">{label}<title>{full}</title></text>'
            '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}"/>'
            '<text x="{cx}" y="{ty}" font-size="{size}" fill="#5f6368">{count}</text>',
            lx=label_width - 8, ty=y + 14, size=FONT, label=shown, full=label, x=label_width, y=y + 3,
            w=f"{max(width, 1):.1f}", h=row - 8, colour=PALETTE[0], cx=f"{label_width + width + 6:.1f}",
            count=_number(count)))
    height = top + max(1, len(items)) * row + 6
    return _svg(title, height, Html("".join(parts)), empty=not items)


def _svg(title: str, height: float, content: Html, empty: bool) -> Html:
    if empty:
        content = render('<text x="{x}" y="60" text-anchor="middle" font-size="14" fill="#5f6368">'
                         "所选日期内没有数据</text>", x=WIDTH / 2)
        height = max(height, 90)
    return render(
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{title}"><title>{title}</title>'
        '<text x="0" y="16" font-size="14" font-weight="700">{title}</text>{content}</svg>',
        w=WIDTH, h=f"{height:.0f}", title=title, content=content)
