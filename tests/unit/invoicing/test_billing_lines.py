"""compute_line: every pricing model x every counting basis, worked out by hand.

The standard series, April 2026 (D = 30), one source, all 30 days active:
    Apr 1-10: 5, Apr 11-20: 15, Apr 21-29: 25, Apr 30: 12
    sum q = 10x5 + 10x15 + 9x25 + 12 = 50 + 150 + 225 + 12 = 437
    shown quantity (daily) = 437 / 30 = 14.5666... -> 14.5667
    peak Q = 25 (first on Apr 21), last Q = 12

Tiers: up to 10 at 1.00, up to 20 at 0.80, above at 0.50.
    graduated: P(5) = 5.00, P(15) = 10 + 5x0.80 = 14.00, P(25) = 10 + 8 + 5x0.50 = 20.50,
               P(12) = 10 + 2x0.80 = 11.60
    volume:    P(5) = 5.00, P(15) = 15x0.80 = 12.00, P(25) = 25x0.50 = 12.50,
               P(12) = 12x0.80 = 9.60
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.invoicing.billing import (
    CountingBasis,
    DailyValue,
    DayPoint,
    Pricing,
    ServiceTerms,
    SourceQuantity,
    Tier,
    compute_line,
)

D = Decimal
SERVERS = ("datto_rmm", "servers")
DESKTOPS = ("datto_rmm", "desktops_laptops")
TIERS = (Tier(D(10), D("1.00")), Tier(D(20), D("0.80")), Tier(None, D("0.50")))
PRICINGS = {
    "per_unit": Pricing("per_unit", D("2.00")),
    "graduated": Pricing("graduated", D(0), TIERS),
    "volume": Pricing("volume", D(0), TIERS),
}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


APRIL = days(date(2026, 4, 1), date(2026, 4, 30))


def standard_quantity(day: date) -> Decimal:
    if day.day <= 10:
        return D(5)
    if day.day <= 20:
        return D(15)
    if day.day <= 29:
        return D(25)
    return D(12)


STANDARD = {SERVERS: {d: DailyValue(standard_quantity(d)) for d in APRIL}}


def terms(model: str, basis: CountingBasis, minimum: Decimal = D(0)) -> ServiceTerms:
    return ServiceTerms("RMM-SRV", "RMM servers", PRICINGS[model], basis, minimum)


@pytest.mark.parametrize(
    ("model", "basis", "amount", "quantity", "unit_price"),
    [
        # per_unit 2.00. daily: 2 x 437 / 30 = 874 / 30 = 29.1333... -> 29.13
        ("per_unit", "daily", "29.13", "14.5667", "2.00"),
        # peak: P(25) x 30/30 = 50.00; last: P(12) x 30/30 = 24.00
        ("per_unit", "monthly_peak", "50.00", "25.0000", "2.00"),
        ("per_unit", "monthly_last", "24.00", "12.0000", "2.00"),
        # graduated daily: (10x5.00 + 10x14.00 + 9x20.50 + 11.60) / 30 = 386.10 / 30 = 12.87
        # effective unit price 12.87 / 14.5667 = 0.88352... -> 0.8835
        ("graduated", "daily", "12.87", "14.5667", "0.8835"),
        # peak: 20.50, 20.50 / 25 = 0.82; last: 11.60, 11.60 / 12 = 0.96666... -> 0.9667
        ("graduated", "monthly_peak", "20.50", "25.0000", "0.8200"),
        ("graduated", "monthly_last", "11.60", "12.0000", "0.9667"),
        # volume daily: (10x5.00 + 10x12.00 + 9x12.50 + 9.60) / 30 = 292.10 / 30 = 9.7366... -> 9.74
        # effective unit price 9.74 / 14.5667 = 0.66864... -> 0.6686
        ("volume", "daily", "9.74", "14.5667", "0.6686"),
        # peak: 12.50, 12.50 / 25 = 0.5; last: 9.60, 9.60 / 12 = 0.8
        ("volume", "monthly_peak", "12.50", "25.0000", "0.5000"),
        ("volume", "monthly_last", "9.60", "12.0000", "0.8000"),
    ],
)
def test_model_by_basis_full_month(
    model: str, basis: CountingBasis, amount: str, quantity: str, unit_price: str
) -> None:
    line = compute_line(terms(model, basis), APRIL, 30, STANDARD, "EUR")
    assert (str(line.amount), str(line.quantity), str(line.unit_price)) == (
        amount,
        quantity,
        unit_price,
    )


@pytest.mark.parametrize(
    ("model", "basis", "amount", "quantity"),
    [
        # A = Apr 21-30 (10 days): 9 x 25 + 12 = 237
        # per_unit daily: 2 x 237 / 30 = 15.80; quantity 237 / 30 = 7.9
        ("per_unit", "daily", "15.80", "7.9000"),
        # peak Q = 25: 50.00 x 10 / 30 = 16.6666... -> 16.67; last Q = 12: 24 x 10/30 = 8.00
        ("per_unit", "monthly_peak", "16.67", "25.0000"),
        ("per_unit", "monthly_last", "8.00", "12.0000"),
        # graduated daily: (9 x 20.50 + 11.60) / 30 = 196.10 / 30 = 6.53666... -> 6.54
        ("graduated", "daily", "6.54", "7.9000"),
        # peak: 20.50 x 10 / 30 = 6.8333... -> 6.83; last: 11.60 x 10 / 30 = 3.8666... -> 3.87
        ("graduated", "monthly_peak", "6.83", "25.0000"),
        ("graduated", "monthly_last", "3.87", "12.0000"),
        # volume daily: (9 x 12.50 + 9.60) / 30 = 122.10 / 30 = 4.07
        ("volume", "daily", "4.07", "7.9000"),
        # peak: 12.50 x 10 / 30 = 4.1666... -> 4.17; last: 9.60 x 10 / 30 = 3.20
        ("volume", "monthly_peak", "4.17", "25.0000"),
        ("volume", "monthly_last", "3.20", "12.0000"),
    ],
)
def test_model_by_basis_partial_month(
    model: str, basis: CountingBasis, amount: str, quantity: str
) -> None:
    line = compute_line(terms(model, basis), APRIL[20:], 30, STANDARD, "EUR")
    assert (str(line.amount), str(line.quantity)) == (amount, quantity)


def test_minimum_units_raise_each_day() -> None:
    # 3 units on Apr 1-10, 8 on Apr 11-30, minimum 5, per_unit 2.00, D = 30
    # q' = 5 on 10 days, 8 on 20 days: sum 50 + 160 = 210
    # amount 2 x 210 / 30 = 14.00 (without the minimum: 2 x 190 / 30 = 12.67)
    # quantity 210 / 30 = 7; the source keeps its own 190 / 30 = 6.3333...
    series = {SERVERS: {d: DailyValue(D(3) if d.day <= 10 else D(8)) for d in APRIL}}
    line = compute_line(terms("per_unit", "daily", D(5)), APRIL, 30, series, "EUR")
    assert str(line.amount) == "14.00"
    assert str(line.quantity) == "7.0000"
    assert line.sources == (SourceQuantity("datto_rmm", "servers", D("6.3333")),)


def test_minimum_units_without_usage_and_for_monthly_bases() -> None:
    # no usage at all, minimum 4, graduated: P(4) = 4.00 each day -> 30 x 4 / 30 = 4.00
    line = compute_line(terms("graduated", "daily", D(4)), APRIL, 30, {}, "EUR")
    assert (str(line.amount), str(line.quantity), line.sources) == ("4.00", "4.0000", ())
    # monthly_last with the last day 12 < minimum 20: Q = 20, per_unit 2 x 20 = 40.00
    line = compute_line(terms("per_unit", "monthly_last", D(20)), APRIL, 30, STANDARD, "EUR")
    assert (str(line.amount), str(line.quantity)) == ("40.00", "20.0000")
    # the source still shows what it reported on the last day
    assert line.sources == (SourceQuantity("datto_rmm", "servers", D(12)),)


def test_jpy_has_no_decimals() -> None:
    # 16 days (Apr 15-30) x 7 units x 101 JPY / 30 = 11312 / 30 = 377.0666... -> 377
    service = ServiceTerms("X", "x", Pricing("per_unit", D(101)))
    series = {SERVERS: {d: DailyValue(D(7)) for d in APRIL}}
    line = compute_line(service, APRIL[14:], 30, series, "JPY")
    assert str(line.amount) == "377"


def test_jpy_half_rounds_up() -> None:
    # 1 day x 1 unit x 15 JPY / 30 = 0.5 -> 1 (half-even would give 0)
    service = ServiceTerms("X", "x", Pricing("per_unit", D(15)))
    line = compute_line(service, [APRIL[-1]], 30, {SERVERS: {APRIL[-1]: DailyValue(D(1))}}, "JPY")
    assert str(line.amount) == "1"


def test_amount_exactly_on_half_a_cent_rounds_up() -> None:
    # 15 units on one day x 0.25 / 30 = 3.75 / 30 = 0.125 exactly -> 0.13 (half-even: 0.12)
    service = ServiceTerms("X", "x", Pricing("per_unit", D("0.25")))
    line = compute_line(service, APRIL, 30, {SERVERS: {APRIL[0]: DailyValue(D(15))}}, "EUR")
    assert str(line.amount) == "0.13"
    assert str(line.quantity) == "0.5000"  # 15 / 30


def test_amount_just_below_half_a_cent_rounds_down() -> None:
    # 1 unit x 3.7497 / 30 = 0.12499 -> 0.12
    service = ServiceTerms("X", "x", Pricing("per_unit", D("3.7497")))
    line = compute_line(service, APRIL, 30, {SERVERS: {APRIL[0]: DailyValue(D(1))}}, "EUR")
    assert str(line.amount) == "0.12"


def test_three_decimal_currency() -> None:
    # 10 units x 1.001 BHD x 30 days / 31 = 300.3 / 31 = 9.68709... -> 9.687
    service = ServiceTerms("X", "x", Pricing("per_unit", D("1.001")))
    january = days(date(2026, 1, 1), date(2026, 1, 30))
    line = compute_line(
        service, january, 31, {SERVERS: {d: DailyValue(D(10)) for d in january}}, "BHD"
    )
    assert str(line.amount) == "9.687"


def test_no_active_days() -> None:
    line = compute_line(terms("per_unit", "monthly_peak", D(5)), [], 30, STANDARD, "EUR")
    assert (str(line.amount), str(line.quantity)) == ("0.00", "0.0000")
    assert line.sources == (SourceQuantity("datto_rmm", "servers", D(0)),)


def _two_sources() -> Mapping[tuple[str, str], Mapping[date, DailyValue]]:
    # Apr 1-3: servers 2, 4, 1 ; desktops 3, 1, 1 -> q = 5, 5, 2
    return {
        SERVERS: {
            APRIL[0]: DailyValue(D(2)),
            APRIL[1]: DailyValue(D(4)),
            APRIL[2]: DailyValue(D(1)),
        },
        DESKTOPS: {
            APRIL[0]: DailyValue(D(3)),
            APRIL[1]: DailyValue(D(1)),
            APRIL[2]: DailyValue(D(1), estimated=True),
        },
    }


def test_sources_daily_basis() -> None:
    # quantity 12 / 30 = 0.4; desktops 5 / 30 = 0.16666... -> 0.1667; servers 7 / 30 -> 0.2333
    line = compute_line(terms("per_unit", "daily"), APRIL[:3], 30, _two_sources(), "EUR")
    assert str(line.quantity) == "0.4000"
    assert str(line.amount) == "0.80"  # 2 x 12 / 30
    assert line.sources == (
        SourceQuantity("datto_rmm", "desktops_laptops", D("0.1667")),
        SourceQuantity("datto_rmm", "servers", D("0.2333")),
    )


def test_sources_monthly_peak_take_the_first_peak_day() -> None:
    # peak 5 on Apr 1 (and Apr 2): Apr 1 gives desktops 3, servers 2
    line = compute_line(terms("per_unit", "monthly_peak"), APRIL[:3], 30, _two_sources(), "EUR")
    assert str(line.quantity) == "5.0000"
    assert str(line.amount) == "1.00"  # 2 x 5 x 3 / 30
    assert [str(s.quantity) for s in line.sources] == ["3.0000", "2.0000"]


def test_sources_monthly_last_and_explain_series() -> None:
    line = compute_line(
        terms("per_unit", "monthly_last"), APRIL[:3], 30, _two_sources(), "EUR", contract_id="c7"
    )
    assert str(line.quantity) == "2.0000"
    assert str(line.amount) == "0.40"  # 2 x 2 x 3 / 30
    assert [str(s.quantity) for s in line.sources] == ["1.0000", "1.0000"]
    assert line.contract_id == "c7"
    assert line.description == "RMM servers"
    assert [(s.module, s.metric) for s in line.daily] == [DESKTOPS, SERVERS]
    assert line.daily[0].days == (
        DayPoint(APRIL[0], D(3), False),
        DayPoint(APRIL[1], D(1), False),
        DayPoint(APRIL[2], D(1), True),
    )


def test_missing_day_in_series_counts_zero() -> None:
    # only Apr 1 given for 30 active days: 10 x 2.00 / 30 = 0.6666... -> 0.67
    series = {SERVERS: {APRIL[0]: DailyValue(D(10))}}
    line = compute_line(terms("per_unit", "daily"), APRIL, 30, series, "EUR")
    assert str(line.amount) == "0.67"
    assert len(line.daily[0].days) == 30
    assert line.daily[0].days[1] == DayPoint(APRIL[1], D(0), False)


def test_fractional_quantities() -> None:
    # storage_tb 1.2345 on every day of April, per_unit 10.00: 1.2345 x 10 = 12.345 -> 12.35
    series = {("datto_azure_backup", "storage_tb"): {d: DailyValue(D("1.2345")) for d in APRIL}}
    service = ServiceTerms("TB", "storage", Pricing("per_unit", D("10.00")))
    line = compute_line(service, APRIL, 30, series, "EUR")
    assert (str(line.amount), str(line.quantity)) == ("12.35", "1.2345")


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        compute_line(terms("per_unit", "daily"), APRIL, 0, STANDARD, "EUR")
    with pytest.raises(ValueError):
        compute_line(terms("per_unit", "daily"), APRIL, 29, STANDARD, "EUR")
    with pytest.raises(ValueError):
        compute_line(terms("per_unit", "daily"), APRIL, 30, STANDARD, "XXX")


@pytest.mark.parametrize("model", ["per_unit", "graduated", "volume"])
def test_a_negative_quantity_that_is_not_raised_is_refused(model: str) -> None:
    # per_unit prices the month's sum at once, but refuses what P refuses, as the tiers do
    series = {SERVERS: {d: DailyValue(D(-1) if d.day == 3 else D(2)) for d in APRIL}}
    with pytest.raises(ValueError, match="non-negative"):
        compute_line(terms(model, "daily", D(-5)), APRIL, 30, series, "EUR")


def test_a_negative_quantity_raised_to_the_minimum_is_priced() -> None:
    series = {SERVERS: {d: DailyValue(D(-1) if d.day == 3 else D(2)) for d in APRIL}}
    line = compute_line(terms("per_unit", "daily"), APRIL, 30, series, "EUR")
    # 29 x 2 + 0 = 58 units: 1.9333 a day at 2.00 -> 3.87; the source keeps its own 57
    assert (str(line.quantity), str(line.amount)) == ("1.9333", "3.87")
    assert line.sources == (SourceQuantity("datto_rmm", "servers", D("1.9000")),)
    assert line.calculation is not None and line.calculation.minimum_applied is False
