"""Contract versions as line segments, and lines that multiply out (PRODUCT.md section 10):
the calculation each line carries, the accounting rule quantity 1 x amount, and the cases
of issue 12 (a graduated line at 1.70, a CSV row at 3.999 USD, a credit-note line
-13 x 1.9167 that is -19.50)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import orjson

from services.invoicing.billing import (
    Calculation,
    Contract,
    ContractVersion,
    Line,
    Pricing,
    ServiceTerms,
    Tier,
    accounting_terms,
    compute_invoices,
    compute_line,
    multiplies_out,
    spread,
)
from services.invoicing.billing.series import DailyValue
from services.invoicing.documents.content import (
    Content,
    StoredLine,
    calculation_json,
    draft_content,
    stored_line,
)
from services.invoicing.documents.corrections import correction
from services.invoicing.documents.lifecycle import InvoiceKind

D = Decimal
SERVERS = ("datto_rmm", "servers")
ENABLED = {"datto_rmm": date(2026, 1, 1)}
APRIL = [date(2026, 4, 1) + timedelta(days=i) for i in range(30)]
MARCH = [date(2026, 3, 1) + timedelta(days=i) for i in range(31)]


def per_unit(price: str, code: str = "RMM", basis: str = "daily") -> ServiceTerms:
    return ServiceTerms(code, f"service {code}", Pricing("per_unit", D(price)), basis)  # type: ignore[arg-type]


def bill(contract: Contract, per_day: dict[str, int], period: str = "2026-04") -> list[Line]:
    """The lines of one draft; every service used ``per_day`` units on every day of April."""
    usage = {code: {SERVERS: {day: D(q) for day in APRIL}} for code, q in per_day.items()}
    [draft] = compute_invoices(period, [contract], D(0), usage, {}, ENABLED)
    return list(draft.lines)


def calc(line: Line) -> Calculation:
    assert line.calculation is not None
    return line.calculation


def test_a_price_change_within_the_month_bills_two_segments_over_d() -> None:
    amended = Contract(
        "c1",
        "contract",
        "EUR",
        date(2026, 1, 1),
        None,
        (per_unit("1.00"), per_unit("5.00", "BACKUP")),
        (ContractVersion(date(2026, 4, 16), (per_unit("2.00"), per_unit("5.00", "BACKUP"))),),
    )

    lines = bill(amended, {"RMM": 10, "BACKUP": 2})

    rmm = [line for line in lines if line.service_code == "RMM"]
    assert [(x.period_start, x.period_end, x.quantity, x.unit_price, x.amount) for x in rmm] == [
        (date(2026, 4, 1), date(2026, 4, 15), D("5.0000"), D("1.00"), D("5.00")),
        (date(2026, 4, 16), date(2026, 4, 30), D("5.0000"), D("2.00"), D("10.00")),
    ]
    # D stays 30: each segment's days / 30, both segments together the whole month.
    assert [calc(x).days_in_period for x in rmm] == [30, 30]
    assert [calc(x).active_days for x in rmm] == [15, 15]
    assert calc(rmm[0]).excluded == (("other_terms", tuple(range(16, 31))),)
    # The unchanged service keeps one line over the whole month.
    [backup] = [line for line in lines if line.service_code == "BACKUP"]
    assert (backup.period_start, backup.period_end, backup.amount) == (
        date(2026, 4, 1),
        date(2026, 4, 30),
        D("10.00"),
    )


def test_an_amendment_that_drops_a_service_ends_its_line_and_says_why() -> None:
    amended = Contract(
        "c1",
        "contract",
        "EUR",
        date(2026, 4, 11),
        None,
        (per_unit("1.00"), per_unit("3.00", "BACKUP")),
        (ContractVersion(date(2026, 4, 21), (per_unit("1.00"),)),),
    )

    lines = bill(amended, {"RMM": 3, "BACKUP": 3})

    by_code = {line.service_code: line for line in lines}
    assert by_code["RMM"].period_start == date(2026, 4, 11)
    assert by_code["RMM"].amount == D("2.00")  # 20 days x 3 / 30
    backup = by_code["BACKUP"]
    assert (backup.period_start, backup.period_end, backup.amount) == (
        date(2026, 4, 11),
        date(2026, 4, 20),
        D("3.00"),
    )
    assert dict(calc(backup).excluded) == {
        "no_contract": tuple(range(1, 11)),
        "not_in_contract": tuple(range(21, 31)),
    }


def test_the_graduated_line_at_1_70_carries_the_tiers_it_used() -> None:
    """Issue 12: 10 days of 1,409 and 21 of 1,438 units; the effective price shows 1.70, but
    1,428.6452 x 1.70 = 2,428.70, not the 2,428.65 the tiers give."""
    terms = ServiceTerms(
        "RMM",
        "RMM",
        Pricing("graduated", D(0), (Tier(D(1000), D("2.00")), Tier(None, D("1.00")))),
    )
    series = {
        SERVERS: {day: DailyValue(D(1409 if i < 10 else 1438)) for i, day in enumerate(MARCH)}
    }

    line = compute_line(terms, MARCH, 31, series, "EUR")

    assert (line.quantity, line.unit_price, line.amount) == (
        D("1428.6452"),
        D("1.7000"),
        D("2428.65"),
    )
    assert not multiplies_out(line.quantity, line.unit_price, line.amount, "EUR")
    assert line.calculation is not None
    detail = calculation_json(line.calculation, "EUR")
    assert detail["tiers"] == [
        {"from": "0.0000", "up_to": "1000.0000", "quantity": "1000.0000", "unit_price": "2.00",
         "amount": "2000.00"},
        {"from": "1000.0000", "up_to": None, "quantity": "428.6452", "unit_price": "1.00",
         "amount": "428.65"},
    ]  # fmt: skip
    assert (detail["minimum_applied"], detail["days_in_period"], detail["active_days"]) == (
        False,
        31,
        31,
    )
    assert accounting_terms(line.quantity, line.unit_price, line.amount, "EUR") == (
        D(1),
        D("2428.65"),
    )


def test_the_3_999_usd_line_is_exported_as_one_times_its_amount() -> None:
    """Issue 12: 35 units over a 31-day month at 3.999: 1.1290 x 3.999 = 4.51, the line is
    4.52 (35 x 3.999 / 31 = 4.5151)."""
    series = {SERVERS: {day: DailyValue(D(5 if i < 7 else 0)) for i, day in enumerate(MARCH)}}

    line = compute_line(per_unit("3.999"), MARCH, 31, series, "USD")

    assert (line.quantity, line.unit_price, line.amount) == (D("1.1290"), D("3.999"), D("4.52"))
    assert accounting_terms(line.quantity, line.unit_price, line.amount, "USD") == (
        D(1),
        D("4.52"),
    )
    assert line.calculation is not None
    assert calculation_json(line.calculation, "USD")["unit_price"] == "3.999"


def test_a_line_that_multiplies_out_is_exported_as_it_is() -> None:
    assert accounting_terms(D("5.0000"), D("4.10"), D("20.50"), "EUR") == (D("5.0000"), D("4.10"))
    assert multiplies_out(D("3"), D("0.125"), D("0.38"), "EUR")  # 0.375 rounds half-up
    assert not multiplies_out(D("3"), D("0.125"), D("0.37"), "EUR")
    assert multiplies_out(D("3"), D("333.4"), D("1000"), "JPY")


def test_the_credit_note_line_of_minus_13_units() -> None:
    """Issue 12's credit-note line: -13 x 1.9167 is not -19.50, so it is exported as 1 x
    -19.50. The same happens to a graduated service invoiced at 20 units and recomputed at
    7: -13 units at the recomputed line's effective 2.00 are -21.00, not -26.00; the line
    says why."""
    tiers = Pricing("graduated", D(0), (Tier(D(10), D("2.00")), Tier(None, D("1.50"))))
    terms = ServiceTerms("RMM", "RMM", tiers, "monthly_peak")

    def content_of(units: int) -> StoredLine:
        series = {SERVERS: {day: DailyValue(D(units)) for day in APRIL}}
        return stored_line(compute_line(terms, APRIL, 30, series, "EUR"), APRIL[0], "EUR")

    invoiced, now = content_of(20), content_of(7)
    assert (invoiced.quantity, invoiced.amount) == (D("20.0000"), D("35.00"))
    recomputed = correction_content(now)

    found = correction(recomputed, [invoiced], D(0), "EUR")

    assert found is not None and found.kind == InvoiceKind.CREDIT_NOTE
    [line] = found.content.lines
    assert (line.quantity, line.amount) == (D("-13.0000"), D("-21.00"))
    # The effective prices are 35.00 / 20 = 1.75 and 14.00 / 7 = 2.00: neither multiplies.
    assert not multiplies_out(line.quantity, line.unit_price, line.amount, "EUR")
    detail = orjson.loads(line.calculation)
    assert detail["difference"] == {
        "invoiced": {"quantity": "20.0000", "amount": "35.00"},
        "recomputed": {"quantity": "7.0000", "amount": "14.00"},
    }
    assert [t["quantity"] for t in detail["recomputed"][0]["tiers"]] == ["7.0000"]
    assert accounting_terms(D("-13"), D("1.9167"), D("-19.50"), "EUR") == (D(1), D("-19.50"))
    assert not multiplies_out(D("-13"), D("1.9167"), D("-19.50"), "EUR")


def correction_content(line: StoredLine) -> Content:
    return Content(line.amount, D(0), D(0), line.amount, (line,))


def test_a_minimum_and_a_volume_tier_are_named() -> None:
    volume = Pricing("volume", D(0), (Tier(D(10), D("3.00")), Tier(None, D("2.00"))))
    terms = ServiceTerms("RMM", "RMM", volume, "monthly_peak", D(12))
    series = {SERVERS: {day: DailyValue(D(4)) for day in APRIL[:15]}}

    line = compute_line(terms, APRIL[:15], 30, series, "EUR")

    # Q = max(4, 12) = 12 at the second tier's 2.00, for 15 of 30 days.
    assert (line.quantity, line.amount) == (D("12.0000"), D("12.00"))
    assert line.calculation is not None
    detail = calculation_json(line.calculation, "EUR")
    assert detail["minimum_applied"] is True
    assert detail["tier"] == {
        "from": "10.0000",
        "up_to": None,
        "quantity": "12.0000",
        "unit_price": "2.00",
        "amount": "12.00",
    }


def test_spread_adds_up_to_the_total() -> None:
    assert spread(D("1.00"), [D(1), D(1), D(1)], 3, 2) == [D("0.34"), D("0.33"), D("0.33")]
    assert spread(D("-0.02"), [D("-0.005"), D("-0.015")], 1, 2) == [D("-0.01"), D("-0.01")]


def test_the_stored_daily_series_numbers_days_marks_estimates_and_disabled_days() -> None:
    """Two lines share their days (numbered once per draft); a day the module missed is an
    estimate, and the days before billing was enabled count 0 and are listed."""
    contract = Contract(
        "c-1", "Plan", "EUR", date(2026, 1, 1), None, (per_unit("1"), per_unit("2", "B"))
    )
    first_week = APRIL[:7]
    usage = {
        "RMM": {SERVERS: {day: D("3.0000") for day in first_week if day.day != 3}},
        "B": {("m2", "x"): {day: D(1) for day in first_week}},
    }
    reported = {"datto_rmm": set(first_week) - {APRIL[2]}, "m2": set(first_week)}
    enabled = {"datto_rmm": date(2026, 1, 1), "m2": APRIL[5]}
    [draft] = compute_invoices("2026-04", [contract], D(0), usage, reported, enabled)

    other, rmm = draft_content(draft).lines  # "B" sorts first

    [series] = orjson.loads(rmm.daily)
    assert series["days"] == list(range(1, 31))
    # Apr 3 and 8-10 carry the last reported 3.0000; nothing to carry from Apr 11 on
    assert series["q"] == ["3.0000"] * 10 + ["0"] * 20
    assert series["estimated"] == [3, 8, 9, 10] and "disabled" not in series
    [series] = orjson.loads(other.daily)
    assert series["days"] == list(range(1, 31))
    assert series["q"] == ["0"] * 5 + ["1"] * 5 + ["0"] * 20
    assert series["estimated"] == [8, 9, 10] and series["disabled"] == [1, 2, 3, 4, 5]


def test_the_stored_series_names_the_estimated_and_the_disabled_days() -> None:
    """Billing enabled from April 3, a missing April 5 carried from April 4."""
    contract = Contract("k1", "K", "EUR", date(2026, 1, 1), None, (per_unit("2"),))
    values = {day: D("4.0000") for day in APRIL[:8] if day != APRIL[4]} | {APRIL[3]: D(6)}
    module_days = {"datto_rmm": set(APRIL[:8]) - {APRIL[4]} | set(APRIL[8:])}
    usage = {"RMM": {SERVERS: values}}

    [draft] = compute_invoices(
        "2026-04", [contract], D(0), usage, module_days, {"datto_rmm": APRIL[2]}
    )

    [line] = draft.lines
    [stored] = orjson.loads(draft_content(draft).lines[0].daily)
    assert stored["days"] == list(range(1, 31))
    assert stored["q"][:6] == ["0", "0", "4.0000", "6", "6", "4.0000"]
    assert stored["estimated"] == [5] and stored["disabled"] == [1, 2]
    points = line.daily[0].days
    assert [(p.estimated, p.billed) for p in points[:5]] == [
        (False, False),
        (False, False),
        (False, True),
        (False, True),
        (True, True),
    ]


def test_equal_lines_share_their_calculation_and_store_it_alike() -> None:
    """Two companies' equal lines: one calculation, stored as calculation_json says."""
    contract = Contract("k1", "K", "KWD", date(2026, 1, 1), None, (per_unit("1.5"),))
    first, second = (bill(contract, {"RMM": units}) for units in (3, 4))

    assert calc(first[0]) is calc(second[0])
    stored = stored_line(first[0], APRIL[0], "KWD").calculation
    assert orjson.loads(stored) == calculation_json(calc(first[0]), "KWD")
    assert stored_line(second[0], APRIL[0], "KWD").calculation == stored
