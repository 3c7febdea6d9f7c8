"""The SVG bar chart builder: heights, zero-filled days, labels, accessibility."""

import re
from datetime import date, timedelta

from ui.charts import bar_chart, days_filled, nice_ceiling

D0 = date(2026, 11, 1)


def rects(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        for tag in re.findall(r"<rect [^>]*>", svg)
    ]


def test_days_filled_puts_zero_on_missing_days_and_drops_outside_ones():
    values = {D0: 3, D0 + timedelta(days=2): 5, D0 + timedelta(days=9): 7}
    assert days_filled(values, start=D0, end=D0 + timedelta(days=3)) == [
        (D0, 3),
        (D0 + timedelta(days=1), 0),
        (D0 + timedelta(days=2), 5),
        (D0 + timedelta(days=3), 0),
    ]
    assert days_filled({}, start=D0, end=D0 - timedelta(days=1)) == []


def test_bar_heights_are_proportional_to_values_on_a_round_axis():
    chart = bar_chart(
        [(D0, 10), (D0 + timedelta(days=1), 0), (D0 + timedelta(days=2), 20)],
        title="Events per day",
        unit="events",
    )
    assert chart.top == 20
    heights = [bar.height for bar in chart.bars]
    assert heights[1] == 0
    assert heights[2] == 2 * heights[0] > 0
    # Bars stand on one baseline, and only days with a value get a <rect>.
    assert {bar.y + bar.height for bar in chart.bars} == {chart.bars[0].y + heights[0]}
    drawn = rects(chart.svg)
    assert [r["data-day"] for r in drawn] == ["2026-11-01", "2026-11-03"]
    assert [r["data-value"] for r in drawn] == ["10", "20"]
    # Bars keep their order from left to right.
    assert chart.bars[0].x < chart.bars[1].x < chart.bars[2].x


def test_axis_top_is_a_round_number_at_or_above_the_peak():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 11, 23, 55, 260, 999)] == [
        1, 1, 3, 8, 15, 25, 60, 300, 1000,
    ]  # fmt: skip
    chart = bar_chart([(D0, 7)], title="T", unit="users")
    assert ">8</text>" in chart.svg and ">0</text>" in chart.svg


def test_chart_is_described_for_assistive_technology():
    chart = bar_chart(
        [(D0, 2), (D0 + timedelta(days=1), 5)],
        title="Active users per day",
        unit="active users",
    )
    svg = str(chart.svg)
    assert 'role="img"' in svg
    label = re.search(r'aria-label="([^"]+)"', svg).group(1)
    assert label == (
        "Active users per day, Nov 1 to Nov 2: 7 active users in all, "
        "at most 5 on Nov 2."
    )
    title_id = re.search(r'aria-labelledby="([^"]+)"', svg).group(1)
    assert f'<title id="{title_id}">{label}</title>' in svg
    assert "<title>Nov 2: 5 active users</title>" in svg  # each bar's tooltip


def test_date_labels_are_spaced_and_include_the_last_day():
    points = days_filled({}, start=D0, end=D0 + timedelta(days=29))
    svg = bar_chart(points, title="T", unit="events").svg
    labels = re.findall(r'text-anchor="middle">([A-Z][a-z]{2} \d+)</text>', svg)
    assert labels[0] == "Nov 1" and labels[-1] == "Nov 30"
    assert 5 <= len(labels) <= 11


def test_empty_data_draws_no_bars_and_says_so():
    chart = bar_chart(
        days_filled({}, start=D0, end=D0 + timedelta(days=6)), title="T", unit="events"
    )
    assert chart.empty and chart.total == 0
    assert rects(chart.svg) == []
    assert "No events in this period" in chart.svg
    nothing = bar_chart([], title="T", unit="events")
    assert nothing.bars == [] and "no days to show" in nothing.svg


def test_text_in_the_chart_is_escaped():
    chart = bar_chart([(D0, 1)], title="<b>x</b>", unit="a&b")
    assert "<b>" not in chart.svg
    assert "&lt;b&gt;" in chart.svg and "a&amp;b" in chart.svg


def test_values_that_do_not_add_up_over_days_get_no_total():
    chart = bar_chart(
        [(D0, 2), (D0 + timedelta(days=1), 3)],
        title="Active users per day",
        unit="active users",
        additive=False,
    )
    assert "in all" not in chart.svg
    assert "at most 3 on Nov 2" in chart.svg
