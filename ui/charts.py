"""Server-rendered SVG charts: a bar chart of daily values.

No JavaScript and no library: the SVG is built here, sized by a ``viewBox`` so
CSS scales it, and described for assistive technology (``role="img"``, a
``<title>`` and an ``aria-label`` summing it up). Templates also render
:attr:`BarChart.rows` as a data table, the fallback for anyone who cannot read
the picture.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 200
# Room for the y-axis labels (left) and the date labels (bottom).
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 22
MAX_X_LABELS = 10

_ids = count(1)


def days_filled(values: Mapping[date, float], *, start: date, end: date) -> list:
    """``(day, value)`` for every day from ``start`` to ``end`` (both included),
    0 for the days ``values`` lacks; days outside the range are left out."""
    days = (end - start).days + 1
    return [
        (day, values.get(day, 0))
        for day in (start + timedelta(days=n) for n in range(max(days, 0)))
    ]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten that
    is >= ``value`` (at least 1): a y-axis top that reads well and leaves the
    tallest bar most of the height."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # not reached


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


@dataclass(frozen=True)
class Bar:
    day: date
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A bar per day. ``svg`` is markup ready for a template; ``rows`` the data."""

    title: str
    unit: str
    additive: bool  # whether a total over the days means something
    rows: list  # [(day, value)], every day of the range
    bars: list[Bar]
    top: float  # the y-axis maximum
    svg: SafeString

    @property
    def total(self) -> float:
        return sum(value for _, value in self.rows)

    @property
    def empty(self) -> bool:
        return not any(value for _, value in self.rows)


def bar_chart(
    points: Iterable[tuple[date, float]],
    *,
    title: str,
    unit: str,
    additive: bool = True,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """A bar chart of ``points`` (one per day, in order; zero-fill them first
    with :func:`days_filled`). ``additive``: the values add up over days
    (events do; distinct active users do not). Bar heights are proportional
    to the values, on an axis from 0 to a round number at or above the
    largest value."""
    rows = list(points)
    peak = max((value for _, value in rows), default=0)
    top = nice_ceiling(peak)
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    slot = plot_w / len(rows) if rows else plot_w
    gap = min(2.0, slot * 0.2)
    bars = []
    for n, (day, value) in enumerate(rows):
        h = plot_h * value / top if value > 0 else 0
        bars.append(
            Bar(
                day=day,
                value=value,
                x=round(LEFT + n * slot + gap / 2, 2),
                y=round(TOP + plot_h - h, 2),
                width=round(max(slot - gap, 0.5), 2),
                height=round(h, 2),
            )
        )
    summary = _summary(rows, title=title, unit=unit, peak=peak, additive=additive)
    svg = _svg(
        rows,
        bars,
        title=title,
        unit=unit,
        summary=summary,
        top=top,
        width=width,
        height=height,
    )
    return BarChart(
        title=title,
        unit=unit,
        additive=additive,
        rows=rows,
        bars=bars,
        top=top,
        svg=svg,
    )


def _summary(rows: list, *, title: str, unit: str, peak: float, additive: bool) -> str:
    if not rows:
        return f"{title}: no days to show."
    first, last = rows[0][0], rows[-1][0]
    total = sum(value for _, value in rows)
    if not total:
        return f"{title}, {_day(first)} to {_day(last)}: no {unit}."
    busiest = max(rows, key=lambda row: row[1])
    in_all = f"{_number(total)} {unit} in all, " if additive else ""
    return (
        f"{title}, {_day(first)} to {_day(last)}: {in_all}"
        f"at most {_number(peak)} on {_day(busiest[0])}."
    )


def _svg(rows, bars, *, title, unit, summary, top, width, height) -> SafeString:
    chart_id = f"chart-{next(_ids)}"
    plot_h = height - TOP - BOTTOM
    base = TOP + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{chart_id}-title">{escape(summary)}</title>',
        # Axes: the baseline, and a faint line at the top value.
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{width - RIGHT}" '
        f'y2="{base}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{width - RIGHT}" '
        f'y2="{TOP}" stroke-dasharray="2 3"/>',
        f'<text x="{LEFT - 4}" y="{base}" text-anchor="end" '
        f'dominant-baseline="middle">0</text>',
        f'<text x="{LEFT - 4}" y="{TOP}" text-anchor="end" '
        f'dominant-baseline="middle">{_number(top)}</text>',
    ]
    for bar in bars:
        if bar.height:
            parts.append(
                f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" '
                f'height="{bar.height}" data-day="{bar.day.isoformat()}" '
                f'data-value="{_number(bar.value)}"><title>{_day(bar.day)}: '
                f"{_number(bar.value)} {escape(unit)}</title></rect>"
            )
    # Date labels: at most about MAX_X_LABELS, evenly spaced, and the last day
    # unless it would crowd the label before it.
    step = max(1, math.ceil(len(bars) / MAX_X_LABELS))
    labelled = list(range(0, len(bars), step))
    last = len(bars) - 1
    if labelled and labelled[-1] != last and last - labelled[-1] >= step / 2:
        labelled.append(last)
    for n in labelled:
        bar = bars[n]
        parts.append(
            f'<text x="{round(bar.x + bar.width / 2, 2)}" y="{height - 6}" '
            f'text-anchor="middle">{_day(bar.day)}</text>'
        )
    if not rows or not any(value for _, value in rows):
        parts.append(
            f'<text x="{LEFT + (width - LEFT - RIGHT) / 2}" y="{TOP + plot_h / 2}" '
            f'text-anchor="middle" class="no-data">No {escape(unit)} in this '
            f"period</text>"
        )
    parts.append("</svg>")
    # Every text put in above is escaped.
    return mark_safe("".join(parts))
