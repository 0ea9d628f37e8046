"""Rows that multiply out (PRODUCT.md section 10): an accounting system recomputes
quantity x unit price, so a line whose amount is not that product at the currency's minor
unit (tiers, minimums, proration) is exported as 1 x its amount."""

from __future__ import annotations

from decimal import Decimal

from shared.money import round_money

ONE = Decimal(1)


def exported_quantity_and_price(
    quantity: Decimal, unit_price: Decimal, amount: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    if round_money(quantity * unit_price, currency) == amount:
        return quantity, unit_price
    return ONE, amount
