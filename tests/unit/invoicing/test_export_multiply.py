"""The one rule every accounting export follows: a line whose quantity times unit price is
not its amount at the minor unit is exported as 1 x amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.invoicing.documents.exports.multiply import exported_quantity_and_price


@pytest.mark.parametrize(
    ("quantity", "price", "amount", "currency", "expected"),
    [
        ("4.0000", "12.50", "50.00", "EUR", ("4.0000", "12.50")),
        ("2.5806", "10.00", "25.81", "EUR", ("2.5806", "10.00")),
        ("7000.0000", "0.4257", "2980.00", "EUR", ("1", "2980.00")),
        ("3.0000", "10.00", "10.00", "EUR", ("1", "10.00")),
        ("-2.0000", "5.00", "-10.00", "EUR", ("-2.0000", "5.00")),
        ("3.0000", "333.4", "1000", "JPY", ("3.0000", "333.4")),
        ("3.0000", "333.0", "1000", "JPY", ("1", "1000")),
    ],
)
def test_rows_multiply_out(
    quantity: str, price: str, amount: str, currency: str, expected: tuple[str, str]
) -> None:
    q, p = exported_quantity_and_price(Decimal(quantity), Decimal(price), Decimal(amount), currency)
    assert (str(q), str(p)) == expected
    assert (q * p).quantize(Decimal(amount)) == Decimal(amount)
