"""The checks every receivable amount and date passes before anything changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.money import minor_units
from shared.problems import invalid


def check_amount(amount: Decimal, currency: str, loc: str = "amount") -> None:
    """Greater than 0, with at most the currency's minor digits (422 otherwise)."""
    if amount <= 0:
        raise invalid(["body", loc], "must be greater than 0")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise invalid(
            ["body", loc], f"{currency} takes at most {places} digits after the decimal point"
        )


def check_date(day: date, loc: str, *, posted_on: date | None, today: date) -> None:
    """Money moves on a day between the document's posting date and today (tenant's zone)."""
    if day > today:
        raise invalid(["body", loc], f"must not lie after today ({today.isoformat()})")
    if posted_on is not None and day < posted_on:
        raise invalid(
            ["body", loc],
            f"must not lie before the document's posting date ({posted_on.isoformat()})",
        )
