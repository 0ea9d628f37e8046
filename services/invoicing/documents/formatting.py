"""How a document shows its numbers: amounts in the currency's minor digits, quantities with
four decimals, prices without trailing zeros, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.money import minor_units


def money(amount: Decimal, currency: str) -> Decimal:
    """An amount with exactly the currency's minor digits ("50.00", "1235" for JPY)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def quantity(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


def price(value: Decimal, currency: str) -> Decimal:
    """A unit price without trailing zeros, but never fewer digits than the currency's."""
    digits = max(minor_units(currency), -int(value.normalize().as_tuple().exponent))
    return value.quantize(Decimal(1).scaleb(-digits))


def rate(value: Decimal) -> Decimal:
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal if isinstance(exponent, int) and exponent <= 0 else normal.quantize(Decimal(1))


def utc(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without their zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
