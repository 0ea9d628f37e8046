from __future__ import annotations

from decimal import Decimal

import pytest

from services.invoicing.billing import (
    UnknownCurrency,
    divide_round,
    minor_units,
    round_money,
    round_quantity,
)


@pytest.mark.parametrize(
    ("code", "units"),
    [
        ("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("CAD", 2), ("AUD", 2), ("NZD", 2),
        ("SEK", 2), ("NOK", 2), ("DKK", 2), ("PLN", 2), ("CZK", 2), ("HUF", 2), ("ZAR", 2),
        ("SGD", 2), ("HKD", 2), ("INR", 2), ("BRL", 2), ("MXN", 2),
        ("JPY", 0), ("KRW", 0), ("ISK", 0),
        ("BHD", 3), ("KWD", 3), ("JOD", 3),
        ("eur", 2),
    ],
)  # fmt: skip
def test_minor_units(code: str, units: int) -> None:
    assert minor_units(code) == units


def test_unknown_currency_is_a_value_error() -> None:
    with pytest.raises(UnknownCurrency) as info:
        minor_units("XXX")
    assert isinstance(info.value, ValueError)
    assert info.value.code == "XXX"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.5", "JPY", "1235"),  # half-up, JPY has 0 digits
        ("1234.49", "JPY", "1234"),
        ("2.345", "EUR", "2.35"),
        ("2.344999", "EUR", "2.34"),
        ("0.125", "EUR", "0.13"),  # banker's rounding would give 0.12
        ("0.135", "EUR", "0.14"),
        ("1.0005", "BHD", "1.001"),
        ("10", "EUR", "10.00"),  # always carries the minor unit
        ("0", "USD", "0.00"),
    ],
)
def test_round_money(amount: str, currency: str, expected: str) -> None:
    assert str(round_money(Decimal(amount), currency)) == expected


def test_round_money_keeps_more_digits_than_the_default_context() -> None:
    # 35 integer digits: the default 28-digit context would have rounded already.
    amount = Decimal("12345678901234567890123456789012345.675")
    assert str(round_money(amount, "EUR")) == "12345678901234567890123456789012345.68"


@pytest.mark.parametrize(
    ("q", "expected"),
    [("1.23445", "1.2345"), ("1.23444", "1.2344"), ("3", "3.0000"), ("0.00005", "0.0001")],
)
def test_round_quantity(q: str, expected: str) -> None:
    assert str(round_quantity(Decimal(q))) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "places", "expected"),
    [
        ("1", 3, 2, "0.33"),
        ("2", 3, 2, "0.67"),
        ("0.155", 31, 2, "0.01"),  # 0.155 / 31 = 0.005 exactly -> up
        ("0.154", 31, 2, "0.00"),  # 0.004967... -> down
        ("3.75", 30, 2, "0.13"),  # 0.125 exactly -> up
        ("15", 30, 0, "1"),  # 0.5 -> 1
        ("437", 30, 4, "14.5667"),
        ("0", 30, 2, "0.00"),
        ("12.87", "14.5667", 4, "0.8835"),
    ],
)
def test_divide_round(numerator: str, denominator: int | str, places: int, expected: str) -> None:
    den = Decimal(denominator) if isinstance(denominator, str) else denominator
    assert str(divide_round(Decimal(numerator), den, places)) == expected


def test_divide_round_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        divide_round(Decimal(1), 0, 2)
