from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.invoicing.billing import DailyValue, fill_missing_days
from services.invoicing.billing.series import (
    Series,
    filled_series,
    filled_values,
    reported_series,
)

D = Decimal


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


APRIL = days(date(2026, 4, 1), date(2026, 4, 30))


def module_days_without(*missing: date) -> set[date]:
    return set(days(date(2026, 3, 29), date(2026, 4, 30))) - set(missing)


def test_reported_day_uses_its_value_and_absent_source_counts_zero() -> None:
    reported = {date(2026, 4, 1), date(2026, 4, 2)}
    values = {date(2026, 4, 1): D(4)}
    result = fill_missing_days([date(2026, 4, 1), date(2026, 4, 2)], reported, values)
    assert result == {
        date(2026, 4, 1): DailyValue(D(4), estimated=False),
        # the module reported on Apr 2, but not this source: 0, not an estimate
        date(2026, 4, 2): DailyValue(D(0), estimated=False),
    }


def test_one_missing_day_is_carried_forward() -> None:
    values = {d: D(10) for d in APRIL if d != date(2026, 4, 10)} | {date(2026, 4, 9): D(7)}
    result = fill_missing_days(APRIL, module_days_without(date(2026, 4, 10)), values)
    assert result[date(2026, 4, 9)] == DailyValue(D(7), estimated=False)
    assert result[date(2026, 4, 10)] == DailyValue(D(7), estimated=True)
    assert result[date(2026, 4, 11)] == DailyValue(D(10), estimated=False)
    assert sum(1 for v in result.values() if v.estimated) == 1


def test_three_missing_days_are_carried_forward() -> None:
    gap = days(date(2026, 4, 10), date(2026, 4, 12))
    values = {d: D(10) for d in APRIL if d not in gap} | {date(2026, 4, 9): D(7)}
    result = fill_missing_days(APRIL, module_days_without(*gap), values)
    assert [result[d] for d in gap] == [DailyValue(D(7), estimated=True)] * 3
    assert result[date(2026, 4, 13)] == DailyValue(D(10), estimated=False)


def test_the_fourth_missing_day_counts_zero() -> None:
    gap = days(date(2026, 4, 10), date(2026, 4, 13))
    values = {d: D(10) for d in APRIL if d not in gap} | {date(2026, 4, 9): D(7)}
    result = fill_missing_days(APRIL, module_days_without(*gap), values)
    assert [result[d] for d in gap] == [
        DailyValue(D(7), estimated=True),
        DailyValue(D(7), estimated=True),
        DailyValue(D(7), estimated=True),
        DailyValue(D(0), estimated=False),
    ]


def test_carry_forward_across_the_month_boundary() -> None:
    # last report on Mar 30 (6); Mar 31, Apr 1 and Apr 2 missing; Apr 3 onwards reported
    reported = set(days(date(2026, 3, 28), date(2026, 3, 30))) | set(
        days(date(2026, 4, 3), date(2026, 4, 30))
    )
    values = {date(2026, 3, 30): D(6)} | {
        d: D(10) for d in days(date(2026, 4, 3), date(2026, 4, 30))
    }
    result = fill_missing_days(APRIL[:3], reported, values)
    assert result == {
        date(2026, 4, 1): DailyValue(D(6), estimated=True),  # 2 days after Mar 30
        date(2026, 4, 2): DailyValue(D(6), estimated=True),  # 3 days after Mar 30
        date(2026, 4, 3): DailyValue(D(10), estimated=False),
    }


def test_module_that_never_reported_counts_zero() -> None:
    result = fill_missing_days(APRIL[:2], set(), {})
    assert result == {d: DailyValue(D(0), estimated=False) for d in APRIL[:2]}


def test_late_record_replaces_the_estimate() -> None:
    values = {d: D(10) for d in APRIL} | {date(2026, 4, 9): D(7)}
    del values[date(2026, 4, 10)]
    before = fill_missing_days(APRIL, module_days_without(date(2026, 4, 10)), values)
    assert before[date(2026, 4, 10)] == DailyValue(D(7), estimated=True)
    values[date(2026, 4, 10)] = D(1)  # the late record; a day with a record is reported
    after = fill_missing_days(APRIL, module_days_without(date(2026, 4, 10)), values)
    assert after[date(2026, 4, 10)] == DailyValue(D(1), estimated=False)


def test_filled_values_follow_the_days_and_equal_values_share_the_first_one() -> None:
    """A reported day without a record counts ``0``; a later record of ``0.0000`` shows as
    that same first value (the stored series repeats it as it was first made)."""
    first, second, third = APRIL[:3]
    values = {second: D("0.0000"), third: D("7.0000")}
    reported = {first, second, third}

    filled = filled_values([third, first, second], reported, values)

    assert filled == [DailyValue(D(7)), DailyValue(D(0)), DailyValue(D(0))]
    assert filled[2] is filled[1] and str(filled[2].quantity) == "0"
    assert fill_missing_days([third, first, second], reported, values) == dict(
        zip([third, first, second], filled, strict=True)
    )


def test_filled_values_keep_an_estimate_apart_from_an_equal_reported_value() -> None:
    reported = module_days_without(date(2026, 4, 2))
    values = {date(2026, 4, 1): D(7), date(2026, 4, 3): D(7)}

    filled = filled_values(APRIL[:3], reported, values)

    assert filled == [DailyValue(D(7)), DailyValue(D(7), True), DailyValue(D(7))]
    assert filled[0] is filled[2] and filled[1] is not filled[0]


def test_a_series_shows_the_values_of_filled_values() -> None:
    """The filled series has the quantities (as first made) and estimates of the values."""
    reported = module_days_without(date(2026, 4, 3), date(2026, 4, 4))
    values = {date(2026, 4, 1): D(0), date(2026, 4, 2): D("0.0000"), date(2026, 4, 5): D(3)}

    series = filled_series(APRIL[:6], reported, values)

    assert series.values() == filled_values(APRIL[:6], reported, values)
    assert [str(q) for q in series.quantities] == ["0", "0", "0.0000", "0.0000", "3", "0"]
    assert list(series.estimated) == [2, 3] and not series.disabled


def test_a_reported_series_shows_each_equal_value_as_the_first_made() -> None:
    values = {APRIL[1]: D("5.0000"), APRIL[2]: D(5), APRIL[3]: D("5.0000")}

    series = reported_series(APRIL[:4], values)

    assert [str(q) for q in series.quantities] == ["0", "5.0000", "5.0000", "5.0000"]
    assert series.quantities[1] is series.quantities[2]


def test_a_series_and_its_daily_values_convert_both_ways() -> None:
    values = [DailyValue(D(2)), DailyValue(D(3), estimated=True), DailyValue(D(0), billed=False)]

    series = Series.of(values)

    assert series == Series([D(2), D(3), D(0)], [1], [2])
    assert series.values() == values
