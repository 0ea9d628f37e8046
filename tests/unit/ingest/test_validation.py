from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.ingest.usage.validation import (
    MAX_ORG_ID,
    MAX_ORG_NAME,
    Rejection,
    ValidRecord,
    validate_batch,
    validate_one,
)

TODAY = date(2026, 3, 15)
MAX_AGE = 400
COUNT_FRACTIONAL = "quantity must be a whole number (unit 'domain' is a count)"
NOT_A_NUMBER = "must be a decimal number or a decimal string"
CONFLICT_FIRST = "the same record appears again with another quantity"


def rec(**changes: Any) -> dict[str, Any]:
    """A valid record of a count metric (``dark_web_id/domains``), with changes."""
    record: dict[str, Any] = {
        "module": "dark_web_id",
        "org_id": "org-1",
        "org_name": "Acme Ltd",
        "metric": "domains",
        "date": "2026-03-14",
        "quantity": "3",
    }
    record.update(changes)
    return record


def storage(quantity: Any) -> dict[str, Any]:
    """A record of a fractional metric (``datto_azure_backup/storage_tb``)."""
    return rec(module="datto_azure_backup", metric="storage_tb", quantity=quantity)


def errors(raw: Any, today: date = TODAY) -> list[tuple[str, str]]:
    result = validate_one(raw, today, MAX_AGE)
    assert isinstance(result, list), result
    return result


def valid(raw: Any, today: date = TODAY) -> ValidRecord:
    result = validate_one(raw, today, MAX_AGE)
    assert isinstance(result, ValidRecord), result
    return result


def test_valid_record_is_kept_with_four_decimals() -> None:
    record = valid(rec())
    assert record == ValidRecord(
        "dark_web_id", "org-1", "Acme Ltd", "domains", date(2026, 3, 14), Decimal("3")
    )
    assert str(record.quantity) == "3.0000"
    assert record.key == ("dark_web_id", "org-1", "domains", date(2026, 3, 14))


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (5, "5.0000"),
        (Decimal("7"), "7.0000"),
        (" 8 ", "8.0000"),
        ("1e3", "1000.0000"),
        ("0", "0.0000"),
    ],
)
def test_count_quantities_accepted(quantity: Any, expected: str) -> None:
    assert str(valid(rec(quantity=quantity)).quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("1.5", "1.5000"),
        ("0.0001", "0.0001"),
        ("1.2345", "1.2345"),
        ("1.23450", "1.2345"),  # trailing zeros are not significant digits
        (Decimal("2.75"), "2.7500"),
        ("999999999999999.9999", "999999999999999.9999"),
    ],
)
def test_fractional_quantities_accepted(quantity: Any, expected: str) -> None:
    assert str(valid(storage(quantity)).quantity) == expected


def test_text_fields_are_stripped() -> None:
    record = valid(rec(org_id="  org-1 ", org_name=" Acme Ltd  "))
    assert (record.org_id, record.org_name) == ("org-1", "Acme Ltd")


def test_unknown_module() -> None:
    assert errors(rec(module="no_such_module")) == [("module", "unknown module 'no_such_module'")]


@pytest.mark.parametrize("module", [None, 42])
def test_missing_or_non_string_module(module: Any) -> None:
    assert errors(rec(module=module)) == [("module", f"unknown module {module!r}")]


@pytest.mark.parametrize("metric", ["users", None, ""])
def test_unknown_metric(metric: Any) -> None:
    assert errors(rec(metric=metric)) == [
        ("metric", f"unknown metric {metric!r} for module dark_web_id")
    ]


@pytest.mark.parametrize("quantity", ["1.5", "0.0001", Decimal("2.5")])
def test_fractional_count_rejected(quantity: Any) -> None:
    assert errors(rec(quantity=quantity)) == [("quantity", COUNT_FRACTIONAL)]


@pytest.mark.parametrize("quantity", ["-1", -3, "-0.5"])
def test_negative_rejected(quantity: Any) -> None:
    assert errors(storage(quantity)) == [("quantity", "quantity must not be negative")]


@pytest.mark.parametrize("quantity", ["abc", "", "1,5", "0x10", "1.2.3"])
def test_non_numeric_rejected(quantity: str) -> None:
    assert errors(rec(quantity=quantity)) == [("quantity", f"{quantity!r} is not a decimal number")]


@pytest.mark.parametrize("quantity", [True, False, 1.5, None, [1], {"v": 1}])
def test_bool_float_and_other_types_rejected(quantity: Any) -> None:
    assert errors(rec(quantity=quantity)) == [("quantity", NOT_A_NUMBER)]


@pytest.mark.parametrize(
    "quantity", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN")]
)
def test_nan_and_infinity_rejected(quantity: Any) -> None:
    assert errors(storage(quantity)) == [("quantity", "must be a finite number")]


@pytest.mark.parametrize("quantity", ["1.23456", "0.00001", "1e-5"])
def test_more_than_four_decimals_rejected(quantity: str) -> None:
    assert errors(storage(quantity)) == [("quantity", "quantity has more than 4 fractional digits")]


def test_more_than_four_decimals_on_a_count_reports_both_rules() -> None:
    assert errors(rec(quantity="1.23456")) == [
        ("quantity", "quantity has more than 4 fractional digits"),
        ("quantity", COUNT_FRACTIONAL),
    ]


@pytest.mark.parametrize("quantity", ["1e15", "1000000000000000", "1e20"])
def test_too_large_rejected(quantity: str) -> None:
    assert errors(storage(quantity)) == [("quantity", "is too large")]


def test_today_is_accepted_tomorrow_is_future() -> None:
    assert valid(rec(date="2026-03-15")).day == TODAY
    assert errors(rec(date="2026-03-16")) == [
        ("date", "2026-03-16 is in the future for the tenant (today is 2026-03-15)")
    ]


def tenant_today(instant: datetime, zone: str) -> date:
    """How the API derives "today" for a tenant (services/ingest/api.py)."""
    return instant.astimezone(ZoneInfo(zone)).date()


def test_future_is_judged_in_the_tenants_zone() -> None:
    instant = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)  # already the 16th in Auckland
    record = rec(date="2026-03-16")
    assert valid(record, tenant_today(instant, "Pacific/Auckland")).day == date(2026, 3, 16)
    assert errors(record, tenant_today(instant, "America/Los_Angeles")) == [
        ("date", "2026-03-16 is in the future for the tenant (today is 2026-03-15)")
    ]
    early = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # the 16th in UTC, still the 15th in LA
    assert valid(record, tenant_today(early, "UTC")).day == date(2026, 3, 16)
    assert errors(record, tenant_today(early, "America/Los_Angeles")) == [
        ("date", "2026-03-16 is in the future for the tenant (today is 2026-03-15)")
    ]


def test_age_limit_is_inclusive() -> None:
    oldest = TODAY - timedelta(days=MAX_AGE)
    assert valid(rec(date=oldest.isoformat())).day == oldest
    too_old = (oldest - timedelta(days=1)).isoformat()
    assert errors(rec(date=too_old)) == [("date", f"{too_old} is older than 400 days")]


@pytest.mark.parametrize("raw", ["2026-02-30", "2026-13-01", "2026-00-10"])
def test_impossible_calendar_date(raw: str) -> None:
    assert errors(rec(date=raw)) == [("date", f"{raw} is not a calendar date")]


@pytest.mark.parametrize(
    "raw", ["14.03.2026", "2026/03/14", "2026-3-14", "20260314", 20260314, None, ""]
)
def test_malformed_date(raw: Any) -> None:
    assert errors(rec(date=raw)) == [("date", "must be a date as YYYY-MM-DD")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("org_id", "", "must not be empty"),
        ("org_id", "   ", "must not be empty"),
        ("org_id", None, "required string"),
        ("org_id", 17, "must be a string"),
        ("org_id", "x" * (MAX_ORG_ID + 1), "longer than 200 characters"),
        ("org_name", "", "must not be empty"),
        ("org_name", "\t", "must not be empty"),
        ("org_name", None, "required string"),
        ("org_name", ["Acme"], "must be a string"),
        ("org_name", "x" * (MAX_ORG_NAME + 1), "longer than 300 characters"),
    ],
)
def test_org_fields(field: str, value: Any, message: str) -> None:
    assert errors(rec(**{field: value})) == [(field, message)]


def test_missing_org_fields() -> None:
    raw = rec()
    del raw["org_id"], raw["org_name"]
    assert errors(raw) == [("org_id", "required string"), ("org_name", "required string")]


def test_org_fields_at_their_limits_are_accepted() -> None:
    record = valid(rec(org_id="i" * MAX_ORG_ID, org_name="n" * MAX_ORG_NAME))
    assert (len(record.org_id), len(record.org_name)) == (200, 300)


@pytest.mark.parametrize("raw", [None, "record", 3, ["dark_web_id"]])
def test_record_must_be_an_object(raw: Any) -> None:
    assert errors(raw) == [("record", "must be an object")]


def test_every_error_of_a_record_is_reported() -> None:
    raw = {"module": "nope", "org_id": "", "org_name": 5, "date": "soon", "quantity": "x"}
    assert errors(raw) == [
        ("module", "unknown module 'nope'"),
        ("org_id", "must not be empty"),
        ("org_name", "must be a string"),
        ("date", "must be a date as YYYY-MM-DD"),
        ("quantity", "'x' is not a decimal number"),
    ]


def test_rejection_as_json() -> None:
    rejection = Rejection(2, (("quantity", "is too large"), ("date", "bad")))
    assert rejection.as_json() == {
        "index": 2,
        "errors": [
            {"loc": ["records", 2, "quantity"], "msg": "is too large"},
            {"loc": ["records", 2, "date"], "msg": "bad"},
        ],
    }


def batch(*raw: Any) -> tuple[list[ValidRecord], list[Rejection], int]:
    return validate_batch(list(raw), TODAY, MAX_AGE)


def test_batch_keeps_valid_and_rejects_invalid_by_index() -> None:
    good, bad = rec(org_id="a"), rec(org_id="b", quantity="-1")
    kept, rejected, repeats = batch(good, bad, rec(org_id="c"))
    assert [r.org_id for r in kept] == ["a", "c"]
    assert rejected == [Rejection(1, (("quantity", "quantity must not be negative"),))]
    assert repeats == 0


def test_identical_duplicates_count_as_repeats() -> None:
    kept, rejected, repeats = batch(
        rec(quantity="5"),
        rec(org_id="other"),
        rec(quantity="5.0"),  # the same value
        rec(quantity=5, org_name="Renamed"),  # same key and quantity: a repeat
    )
    assert [(r.org_id, r.org_name, r.quantity) for r in kept] == [
        ("org-1", "Acme Ltd", Decimal("5")),
        ("other", "Acme Ltd", Decimal("3")),
    ]
    assert rejected == []
    assert repeats == 2


def test_conflicting_duplicates_are_rejected_on_both_sides() -> None:
    kept, rejected, repeats = batch(rec(quantity="5"), rec(org_id="other"), rec(quantity="6"))
    assert [r.org_id for r in kept] == ["other"]
    assert rejected == [
        Rejection(0, (("quantity", CONFLICT_FIRST),)),
        Rejection(2, (("quantity", "conflicts with record 0 for the same key"),)),
    ]
    assert repeats == 0


def test_a_repeat_of_a_conflicting_record_is_rejected_too() -> None:
    # Counting the third as "unchanged" would claim a record was stored whose key was rejected.
    kept, rejected, repeats = batch(rec(quantity="5"), rec(quantity="6"), rec(quantity="5"))
    assert kept == []
    assert [r.index for r in rejected] == [0, 1, 2]
    assert rejected[1] == Rejection(1, (("quantity", "conflicts with record 0 for the same key"),))
    assert rejected[2] == Rejection(2, (("quantity", CONFLICT_FIRST),))
    assert repeats == 0


def test_every_conflicting_copy_is_rejected() -> None:
    kept, rejected, repeats = batch(rec(quantity="5"), rec(quantity="6"), rec(quantity="7"))
    assert kept == []
    assert [(r.index, r.errors[0][1]) for r in rejected] == [
        (0, CONFLICT_FIRST),
        (1, "conflicts with record 0 for the same key"),
        (2, "conflicts with record 0 for the same key"),
    ]
    assert repeats == 0


def test_other_dates_metrics_and_orgs_are_other_keys() -> None:
    kept, rejected, repeats = batch(
        rec(quantity="5"),
        rec(quantity="6", date="2026-03-13"),
        rec(quantity="7", metric="live_searches"),
        rec(quantity="8", org_id="org-2"),
    )
    assert [r.quantity for r in kept] == [Decimal(q) for q in ("5", "6", "7", "8")]
    assert (rejected, repeats) == ([], 0)


def test_invalid_records_take_no_part_in_duplicate_detection() -> None:
    kept, rejected, repeats = batch(rec(quantity="5"), rec(quantity="abc"))
    assert [r.quantity for r in kept] == [Decimal("5")]
    assert [r.index for r in rejected] == [1]
    assert repeats == 0


def test_empty_batch() -> None:
    assert batch() == ([], [], 0)
