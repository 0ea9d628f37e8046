"""The console's SVG bar charts: a bar per day, scaled to the highest, estimated days
marked, daily sums over several rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.console.charts import HEIGHT, Point, bar_chart, daily_totals, fill_days

D1, D2, D3 = dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)


def test_rows_of_a_day_add_up_and_a_day_is_estimated_when_any_row_is() -> None:
    points = daily_totals(
        [
            ("2026-10-02", Decimal("2.5"), False),
            ("2026-10-01", Decimal("1"), False),
            ("2026-10-02", Decimal("3"), True),
        ]
    )
    assert points == [Point(D1, Decimal("1")), Point(D2, Decimal("5.5"), True)]


def test_missing_days_are_filled_with_zero() -> None:
    filled = fill_days([Point(D2, Decimal(4))], D1, D3)
    assert [p.day for p in filled] == [D1, D2, D3]
    assert [p.value for p in filled] == [0, 4, 0]


def test_bars_scale_to_the_highest_day_and_mark_estimates() -> None:
    chart = bar_chart("Usage", [Point(D1, Decimal(10)), Point(D2, Decimal(5), True)], "users")
    tallest, half = chart.bars
    assert Decimal(tallest.height) == HEIGHT - 2
    assert Decimal(half.height) == Decimal(HEIGHT - 2) / 2
    assert Decimal(tallest.y) + Decimal(tallest.height) == HEIGHT - 1
    assert Decimal(tallest.x) < Decimal(half.x)
    assert (tallest.estimated, half.estimated) == (False, True)
    assert half.label == "2026-10-02: 5 users (estimated)"
    assert chart.estimated_days == 1
    assert chart.summary == (
        "Usage: 2 days from 2026-10-01 to 2026-10-02, highest 10, 1 estimated."
    )


def test_a_tiny_value_stays_visible_and_no_data_says_so() -> None:
    chart = bar_chart("Usage", [Point(D1, Decimal(1000)), Point(D2, Decimal("0.01"))])
    assert Decimal(chart.bars[1].height) >= 1
    empty = bar_chart("Usage", [])
    assert empty.empty and empty.summary == "Usage: no data."


def test_monthly_charts_are_labelled_by_month() -> None:
    chart = bar_chart(
        "Totals",
        [Point(D1, Decimal("100.50")), Point(dt.date(2026, 11, 1), Decimal(50))],
        "EUR",
        monthly=True,
    )
    assert (chart.first_day, chart.last_day) == ("2026-10", "2026-11")
    assert chart.bars[0].label == "2026-10: 100.5 EUR"
    assert chart.summary == "Totals: 2 months from 2026-10 to 2026-11, highest 100.5."
