"""compute_invoices: contracts, periods, missing days, enablement, overlaps, tax.

Unless stated otherwise: April 2026 (D = 30), one source datto_rmm/servers feeding service
"RMM", billing enabled since 2026-01-01, the module reporting every day from Mar 28.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.invoicing.billing import (
    Contract,
    CountingBasis,
    DayPoint,
    InvoiceDraft,
    Pricing,
    ServiceTerms,
    SourceQuantity,
    UnknownCurrency,
    active_days,
    compute_invoices,
    parse_period,
)

D = Decimal
SERVERS = ("datto_rmm", "servers")
ENABLED = {"datto_rmm": date(2026, 1, 1)}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


APRIL = days(date(2026, 4, 1), date(2026, 4, 30))
WINDOW = days(date(2026, 3, 28), date(2026, 4, 30))  # 3 days before the period and more


def service(code: str = "RMM", price: str = "1.00", basis: CountingBasis = "daily") -> ServiceTerms:
    return ServiceTerms(code, f"service {code}", Pricing("per_unit", D(price)), basis)


def contract(
    cid: str = "c1",
    start: date = date(2026, 1, 1),
    end: date | None = None,
    currency: str = "EUR",
    services: Sequence[ServiceTerms] = (),
) -> Contract:
    return Contract(cid, f"contract {cid}", currency, start, end, tuple(services) or (service(),))


def run(
    contracts: Sequence[Contract],
    values: Mapping[date, Decimal],
    *,
    period: str = "2026-04",
    reported: set[date] | None = None,
    enabled: Mapping[str, date | None] = ENABLED,
    tax_rate: str = "0",
) -> list[InvoiceDraft]:
    return compute_invoices(
        period,
        contracts,
        D(tax_rate),
        {"RMM": {SERVERS: values}},
        {"datto_rmm": set(values) if reported is None else reported},
        enabled,
    )


def only_line_amount(drafts: list[InvoiceDraft]) -> str:
    (draft,) = drafts
    (line,) = draft.lines
    return str(line.amount)


def test_parse_period() -> None:
    assert parse_period("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    for bad in ("2026-13", "2026-4", "26-04", "2026-04-01", "2026-00"):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_active_days() -> None:
    start, end = date(2026, 4, 1), date(2026, 4, 30)
    assert active_days(contract(start=date(2026, 4, 15)), start, end) == APRIL[14:]
    assert (
        active_days(contract(start=date(2025, 1, 1), end=date(2026, 4, 3)), start, end)
        == (APRIL[:3])
    )
    assert active_days(contract(start=date(2026, 5, 1)), start, end) == []
    assert active_days(contract(start=date(2025, 1, 1), end=date(2026, 3, 31)), start, end) == []
    assert active_days(contract(start=date(2026, 4, 30), end=date(2026, 4, 30)), start, end) == [
        date(2026, 4, 30)
    ]


@pytest.mark.parametrize(
    ("period", "amount", "quantity"),
    [
        # contract from the 15th, 10 units a day at 1.00 on the daily basis
        ("2026-02", "5.00", "5.0000"),  # Feb 15-28: 14 days x 10 / 28 = 5
        ("2028-02", "5.17", "5.1724"),  # Feb 15-29: 15 days x 10 / 29 = 5.17241...
        ("2026-04", "5.33", "5.3333"),  # Apr 15-30: 16 days x 10 / 30 = 5.3333...
        ("2026-01", "5.48", "5.4839"),  # Jan 15-31: 17 days x 10 / 31 = 5.48387...
    ],
)
def test_contract_starting_on_the_15th_in_months_of_28_to_31_days(
    period: str, amount: str, quantity: str
) -> None:
    first, last = parse_period(period)
    values = {d: D(10) for d in days(first - timedelta(days=3), last)}
    drafts = run([contract(start=first.replace(day=15))], values, period=period)
    (line,) = drafts[0].lines
    assert (str(line.amount), str(line.quantity)) == (amount, quantity)


@pytest.mark.parametrize(
    ("period", "amount"),
    [
        # monthly_peak, Q = 10 at 1.00 -> 10.00 x |A| / D
        ("2026-02", "5.00"),  # 10 x 14 / 28
        ("2028-02", "5.17"),  # 10 x 15 / 29 = 5.1724...
        ("2026-04", "5.33"),  # 10 x 16 / 30
        ("2026-01", "5.48"),  # 10 x 17 / 31 = 5.4838...
    ],
)
def test_monthly_peak_is_prorated_by_active_days(period: str, amount: str) -> None:
    first, last = parse_period(period)
    values = {d: D(10) for d in days(first - timedelta(days=3), last)}
    services = [service(basis="monthly_peak")]
    drafts = run([contract(start=first.replace(day=15), services=services)], values, period=period)
    (line,) = drafts[0].lines
    assert (str(line.amount), str(line.quantity)) == (amount, "10.0000")


def test_monthly_last_uses_the_contract_end() -> None:
    # contract ends Apr 20: A = Apr 1-20, last day Apr 20 with 7 units at 3.00
    # 21.00 x 20 / 30 = 14.00
    values = {d: D(7) if d == date(2026, 4, 20) else D(10) for d in WINDOW}
    services = [service(price="3.00", basis="monthly_last")]
    drafts = run([contract(end=date(2026, 4, 20), services=services)], values)
    (line,) = drafts[0].lines
    assert (str(line.amount), str(line.quantity)) == ("14.00", "7.0000")


def test_tax_subtotal_and_total() -> None:
    # two lines: 2.00 x 437/30 = 29.13 and 1.00 x 437/30 = 14.57 -> subtotal 43.70
    # tax 19 %: 8.303 -> 8.30, total 52.00
    values = {d: D(5) if d.day <= 10 else D(15) if d.day <= 20 else D(25) for d in WINDOW}
    values[date(2026, 4, 30)] = D(12)
    usage = {"A": {SERVERS: values}, "B": {SERVERS: values}}
    c = contract(services=[service("B", "1.00"), service("A", "2.00")])
    (draft,) = compute_invoices(
        "2026-04", [c], D("0.19"), usage, {"datto_rmm": set(values)}, ENABLED
    )
    assert [(line.service_code, str(line.amount)) for line in draft.lines] == [
        ("A", "29.13"),
        ("B", "14.57"),
    ]
    assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("43.70", "8.30", "52.00")
    assert draft.tax_rate == D("0.19")
    assert (draft.period, draft.period_start, draft.period_end) == (
        "2026-04",
        date(2026, 4, 1),
        date(2026, 4, 30),
    )


def test_tax_rounds_half_up() -> None:
    # 1.25 a day for 30 days / 30 = 1.25; tax 10 % = 0.125 -> 0.13 (half-even: 0.12)
    values = {d: D(1) for d in WINDOW}
    (draft,) = run([contract(services=[service(price="1.25")])], values, tax_rate="0.10")
    assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("1.25", "0.13", "1.38")


def test_jpy_invoice() -> None:
    # Apr 15-30: 16 days x 7 x 101 / 30 = 11312 / 30 = 377.066... -> 377
    # tax 10 %: 37.7 -> 38, total 415
    values = {d: D(7) for d in WINDOW}
    c = contract(start=date(2026, 4, 15), currency="JPY", services=[service(price="101")])
    (draft,) = run([c], values, tax_rate="0.10")
    assert draft.currency == "JPY"
    assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("377", "38", "415")


# --- missing days -------------------------------------------------------------------------
# 10 units every day at 1.00, except 7 on Apr 9; sum / 30 is the amount.


def _gap_values(*missing: date) -> dict[date, Decimal]:
    values = {d: D(10) for d in WINDOW if d not in missing}
    values[date(2026, 4, 9)] = D(7)
    return values


def test_one_missing_day() -> None:
    # Apr 10 carried from Apr 9: 28 x 10 + 7 + 7 = 294 -> 9.80 (without: 287 -> 9.57)
    (draft,) = run([contract()], _gap_values(date(2026, 4, 10)))
    (line,) = draft.lines
    assert (str(line.amount), str(line.quantity)) == ("9.80", "9.8000")
    assert line.daily[0].days[9] == DayPoint(date(2026, 4, 10), D(7), True)
    assert sum(p.estimated for p in line.daily[0].days) == 1


def test_three_missing_days() -> None:
    # Apr 10-12 carried from Apr 9: 26 x 10 + 7 + 3 x 7 = 288 -> 9.60
    gap = days(date(2026, 4, 10), date(2026, 4, 12))
    assert only_line_amount(run([contract()], _gap_values(*gap))) == "9.60"


def test_four_missing_days() -> None:
    # Apr 10-12 carried, Apr 13 counts 0: 25 x 10 + 7 + 3 x 7 + 0 = 278 -> 9.2666... -> 9.27
    gap = days(date(2026, 4, 10), date(2026, 4, 13))
    (draft,) = run([contract()], _gap_values(*gap))
    (line,) = draft.lines
    assert str(line.amount) == "9.27"
    assert line.daily[0].days[12] == DayPoint(date(2026, 4, 13), D(0), False)


def test_missing_days_across_the_month_boundary() -> None:
    # last record Mar 30 (6); Mar 31, Apr 1, Apr 2 missing: Apr 1 and 2 carry 6
    # 2 x 6 + 28 x 10 = 292 -> 9.7333... -> 9.73
    values = {d: D(10) for d in days(date(2026, 4, 3), date(2026, 4, 30))}
    values |= {date(2026, 3, 28): D(9), date(2026, 3, 29): D(9), date(2026, 3, 30): D(6)}
    assert only_line_amount(run([contract()], values)) == "9.73"


def test_missing_days_across_the_month_boundary_expire() -> None:
    # last record Mar 29 (6): Apr 1 is the 3rd missing day (6, estimated), Apr 2 the 4th (0)
    # 6 + 28 x 10 = 286 -> 9.5333... -> 9.53
    values = {d: D(10) for d in days(date(2026, 4, 3), date(2026, 4, 30))}
    values |= {date(2026, 3, 28): D(9), date(2026, 3, 29): D(6)}
    (draft,) = run([contract()], values)
    (line,) = draft.lines
    assert str(line.amount) == "9.53"
    assert line.daily[0].days[:2] == (
        DayPoint(date(2026, 4, 1), D(6), True),
        DayPoint(date(2026, 4, 2), D(0), False),
    )


def test_late_record_replaces_the_estimate() -> None:
    values = _gap_values(date(2026, 4, 10))
    assert only_line_amount(run([contract()], values)) == "9.80"  # Apr 10 estimated as 7
    values[date(2026, 4, 10)] = D(1)  # the late record arrives
    # 28 x 10 + 7 + 1 = 288 -> 9.60, no estimate left
    (draft,) = run([contract()], values)
    assert str(draft.lines[0].amount) == "9.60"
    assert not any(p.estimated for p in draft.lines[0].daily[0].days)


def test_reported_day_without_this_source_counts_zero() -> None:
    # the module reported on Apr 10 (another metric), servers absent: 0, not carried
    # 28 x 10 + 7 + 0 = 287 -> 9.5666... -> 9.57
    values = _gap_values(date(2026, 4, 10))
    assert only_line_amount(run([contract()], values, reported=set(WINDOW))) == "9.57"


# --- module enablement ------------------------------------------------------------------


def test_module_enabled_mid_month() -> None:
    # enabled from Apr 16: 15 days x 10 / 30 = 5.00
    values = {d: D(10) for d in WINDOW}
    drafts = run([contract()], values, enabled={"datto_rmm": date(2026, 4, 16)})
    assert only_line_amount(drafts) == "5.00"


def test_module_disabled_still_gives_an_empty_invoice() -> None:
    values = {d: D(10) for d in WINDOW}
    for enabled in ({}, {"datto_rmm": None}, {"datto_rmm": date(2026, 5, 1)}):
        (draft,) = run([contract()], values, enabled=enabled, tax_rate="0.19")
        assert draft.lines == ()
        assert (str(draft.subtotal), str(draft.tax), str(draft.total)) == ("0.00", "0.00", "0.00")


def test_estimate_on_the_first_enabled_day_comes_from_before_enablement() -> None:
    # enabled from Apr 16; Apr 16 missing, carried from Apr 15 (4): 4 + 14 x 10 = 144 -> 4.80
    values = {d: D(10) for d in WINDOW if d != date(2026, 4, 16)}
    values[date(2026, 4, 15)] = D(4)
    drafts = run([contract()], values, enabled={"datto_rmm": date(2026, 4, 16)})
    assert only_line_amount(drafts) == "4.80"


# --- contracts ----------------------------------------------------------------------------


def test_overlapping_contracts_bill_each_day_once() -> None:
    # c1 (since Jan 1, 1.50) and c2 (Apr 11-20, 2.00) both carry RMM, 10 a day:
    # c2 starts later and takes Apr 11-20: 10 days x 10 x 2.00 / 30 = 6.6666... -> 6.67
    # c1 keeps Apr 1-10 and 21-30: 20 days x 10 x 1.50 / 30 = 10.00
    values = {d: D(10) for d in WINDOW}
    c1 = contract("c1", services=[service(price="1.50")])
    c2 = contract(
        "c2", start=date(2026, 4, 11), end=date(2026, 4, 20), services=[service(price="2.00")]
    )
    (draft,) = run([c2, c1], values)
    assert [(li.contract_id, str(li.amount), str(li.quantity)) for li in draft.lines] == [
        ("c1", "10.00", "6.6667"),  # 200 / 30
        ("c2", "6.67", "3.3333"),  # 100 / 30
    ]
    assert [p.day for p in draft.lines[1].daily[0].days] == APRIL[10:20]
    assert draft.contract_ids == ("c1", "c2")
    assert str(draft.subtotal) == "16.67"


def test_overlapping_contracts_same_start_highest_id_wins() -> None:
    values = {d: D(10) for d in WINDOW}
    ca = contract("a", services=[service(price="1.00")])
    cb = contract("b", services=[service(price="2.00")])
    (draft,) = run([cb, ca], values)
    assert [(li.contract_id, str(li.amount)) for li in draft.lines] == [("b", "20.00")]


def test_overlap_shrinks_active_days_of_monthly_peak() -> None:
    # c1 monthly_peak keeps 20 days; peak of those days is 10: 10 x 1.00 x 20 / 30 = 6.67
    # c2 (Apr 11-20) sees the peak 30 on Apr 15: 30 x 1.00 x 10 / 30 = 10.00
    values = {d: D(30) if d == date(2026, 4, 15) else D(10) for d in WINDOW}
    c1 = contract("c1", services=[service(basis="monthly_peak")])
    c2 = contract(
        "c2",
        start=date(2026, 4, 11),
        end=date(2026, 4, 20),
        services=[service(basis="monthly_peak")],
    )
    (draft,) = run([c1, c2], values)
    assert [(li.contract_id, str(li.amount), str(li.quantity)) for li in draft.lines] == [
        ("c1", "6.67", "10.0000"),
        ("c2", "10.00", "30.0000"),
    ]


def test_one_draft_per_currency_and_none_without_active_contract() -> None:
    values = {d: D(10) for d in WINDOW}
    contracts = [
        contract("u", currency="USD"),
        contract("e", currency="EUR", start=date(2026, 4, 30)),
        contract("g", currency="GBP", end=date(2026, 3, 31)),  # ended before April
        contract("n", currency="EUR", start=date(2026, 5, 1)),  # starts after April
    ]
    drafts = run(contracts, values)
    assert [(d.currency, str(d.total), d.contract_ids) for d in drafts] == [
        ("EUR", "0.33", ("e",)),  # 1 day x 10 / 30
        ("USD", "10.00", ("u",)),
    ]


def test_lines_sorted_by_contract_start_then_service_code() -> None:
    values = {d: D(10) for d in WINDOW}
    usage = {code: {SERVERS: values} for code in ("A", "B", "C")}
    late = contract("z1", start=date(2026, 4, 1), services=[service("A")])
    early = contract("z2", start=date(2026, 1, 1), services=[service("C"), service("B")])
    (draft,) = compute_invoices(
        "2026-04", [late, early], D(0), usage, {"datto_rmm": set(values)}, ENABLED
    )
    assert [(li.contract_id, li.service_code) for li in draft.lines] == [
        ("z2", "B"),
        ("z2", "C"),
        ("z1", "A"),
    ]


def test_several_sources_feed_one_service() -> None:
    # servers 10 a day + desktops 2 a day from another module, both at 1.00: 12.00
    other = ("datto_edr", "endpoints")
    usage = {"RMM": {SERVERS: {d: D(10) for d in WINDOW}, other: {d: D(2) for d in WINDOW}}}
    (draft,) = compute_invoices(
        "2026-04",
        [contract()],
        D(0),
        usage,
        {"datto_rmm": set(WINDOW), "datto_edr": set(WINDOW)},
        ENABLED | {"datto_edr": date(2026, 1, 1)},
    )
    (line,) = draft.lines
    assert str(line.amount) == "12.00"
    assert line.sources == (
        SourceQuantity("datto_edr", "endpoints", D(2)),
        SourceQuantity("datto_rmm", "servers", D(10)),
    )


def test_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        run([contract(currency="ABC")], {})
