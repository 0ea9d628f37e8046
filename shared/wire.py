"""How numbers, times and periods read in the public API, defined once for every service.

Each kind of number has one text, whatever answer carries it:

- amounts: exactly the currency's minor digits (:func:`shared.money.round_money`; they need
  their currency, so the document shapes format them);
- quantities (:data:`Quantity`): four fractional digits, the precision the billing rounds
  shown quantities to ("12.0000", "1.0625");
- rates (:data:`Rate`): the decimal without trailing zeros ("0.19", "0");
- unit prices: without trailing zeros but never fewer digits than the currency's ("2.50",
  "2.3189"), as invoices show them;
- times (:data:`UtcDateTime`): ISO 8601 in UTC with ``Z``, also where the database (SQLite)
  hands a time back without its zone.

Filters read periods (:data:`Period`) and date ranges (:func:`ordered`) the way the writes
do, so a value a write refuses is refused by a list too, never answered with nothing.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

from shared.money import QUANTITY_PLACES
from shared.problems import invalid

__all__ = ["Period", "Quantity", "Rate", "UtcDateTime", "decimal_text", "ordered", "period_days"]

T = TypeVar("T", date, datetime)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def decimal_text(value: Decimal) -> str:
    """Positional notation, never an exponent ("100", not "1E+2")."""
    return format(value, "f")


def _rate_text(value: Decimal) -> str:
    return decimal_text(value.normalize())


def _quantity_text(value: Decimal) -> str:
    return decimal_text(value.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)))


def as_utc(moment: datetime) -> datetime:
    """A time in UTC; one without a zone was stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    return as_utc(moment).isoformat().replace("+00:00", "Z")


Rate = Annotated[
    Decimal,
    PlainSerializer(_rate_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "description": "A decimal without trailing zeros.", "example": "0.19"},
        mode="serialization",
    ),
]
Quantity = Annotated[
    Decimal,
    PlainSerializer(_quantity_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A decimal with 4 fractional digits.",
            "example": "12.0000",
        },
        mode="serialization",
    ),
]
UtcDateTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(_utc_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-03-01T08:30:00Z"},
        mode="serialization",
    ),
]


def period_days(period: str) -> tuple[date, date]:
    """First and last day of the calendar month ``"YYYY-MM"``; ValueError for anything else."""
    match = _PERIOD.fullmatch(period)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValueError("must be a month as YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _period(value: str) -> str:
    period_days(value)
    return value


Period = Annotated[str, AfterValidator(_period)]
"""A calendar month "YYYY-MM", in a body or a query: "2026-13" is refused in both."""


def ordered(start: T | None, end: T | None) -> None:
    """Refuses a ``from`` after ``to`` (422 naming ``to``), as a write would."""
    if start is not None and end is not None and end < start:
        raise invalid(["query", "to"], "must not be before from")
