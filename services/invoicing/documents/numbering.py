"""The tenant's gapless invoice numbers, how documents print them, and the invoice date in
the tenant's zone."""

from __future__ import annotations

import re
import string
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import InvoiceRow, NumberSequenceRow
from shared.db import dialect_of, insert


async def next_number(session: AsyncSession, tenant_id: str) -> int:
    """The tenant's next invoice number; the row lock makes concurrent posts wait in line,
    and a rolled-back post gives its number back, so the sequence stays gapless."""
    table = cast(Table, NumberSequenceRow.__table__)
    await session.execute(
        insert(table, dialect_of(session))
        .values(tenant_id=tenant_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    number = await session.scalar(
        update(table)
        .where(table.c.tenant_id == tenant_id)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    assert number is not None
    return int(number)


DEFAULT_NUMBER_FORMAT = "INV-{year}-{number:05}"
"""How a document prints its number (``INV-2026-00042``); the gapless integer stays the
number. ``{year}`` is the year of the invoice date."""

FIELDS = ("year", "month", "number")
MAX_FORMAT_LENGTH = 32
MAX_NUMBER_LENGTH = 36
"""DATEV's ``Belegfeld 1`` holds 36 characters; a longer number would be cut and could
name two documents the same."""
_WIDTH = re.compile(r"0[1-9][0-9]?")
_LITERAL = re.compile(r"[A-Za-z0-9/-]*")
_LARGEST: dict[str, int | None] = {"year": 9999, "month": 12, "number": 9_999_999_999}


class NumberFormatError(ValueError):
    """Why a number format cannot be used, in words for the API's problem."""


def _parts(fmt: str) -> list[tuple[str, str | None, str]]:
    """``(literal, field, width)`` pieces of ``fmt``; :class:`NumberFormatError` for anything
    but :data:`FIELDS` with an optional zero-padded width (``{number:05}``) between letters,
    digits, ``-`` and ``/``."""
    try:
        pieces = list(string.Formatter().parse(fmt))
    except ValueError as error:
        raise NumberFormatError(f"unbalanced braces: {error}") from None
    parts: list[tuple[str, str | None, str]] = []
    for literal, field, spec, conversion in pieces:
        if not _LITERAL.fullmatch(literal):
            raise NumberFormatError(
                f"{literal!r}: text around the fields may hold letters, digits, '-' and '/' "
                "only (DATEV accepts no other characters in a document number)"
            )
        if field is None:
            parts.append((literal, None, ""))
            continue
        if field not in FIELDS or conversion is not None:
            raise NumberFormatError(
                f"{{{field}}}: the fields are {{year}}, {{month}} and {{number}}"
            )
        if spec and not _WIDTH.fullmatch(spec):
            raise NumberFormatError(
                f"{{{field}:{spec}}}: a field takes only a width padded with zeros, such as "
                "{number:05}"
            )
        parts.append((literal, field, spec or ""))
    return parts


def check_number_format(fmt: str) -> str:
    """``fmt`` when documents can print their numbers with it, else
    :class:`NumberFormatError`: it must hold ``{number}`` (so numbers stay distinct), and at
    most :data:`MAX_FORMAT_LENGTH` characters that print at most :data:`MAX_NUMBER_LENGTH`
    even for a ten-digit number."""
    if len(fmt) > MAX_FORMAT_LENGTH:
        raise NumberFormatError(f"at most {MAX_FORMAT_LENGTH} characters")
    parts = _parts(fmt)
    if not any(field == "number" for _, field, _ in parts):
        raise NumberFormatError("the format must contain {number}")
    longest = _render(parts, _LARGEST)
    if len(longest) > MAX_NUMBER_LENGTH:
        raise NumberFormatError(
            f"prints up to {len(longest)} characters ({longest}); at most {MAX_NUMBER_LENGTH}"
        )
    return fmt


def _render(parts: list[tuple[str, str | None, str]], values: dict[str, int | None]) -> str:
    out = []
    for literal, field, width in parts:
        out.append(literal)
        if field is not None:
            value = values[field]
            out.append("" if value is None else format(value, width))
    return "".join(out)


def display_number(number: int, issued_on: date | None, fmt: str = DEFAULT_NUMBER_FORMAT) -> str:
    """The number as the document prints it, in the tenant's format (``{number}`` with an
    optional width such as ``{number:05}``, ``{year}`` and ``{month}`` of the invoice
    date)."""
    values: dict[str, int | None] = {
        "number": number,
        "year": issued_on.year if issued_on else None,
        "month": issued_on.month if issued_on else None,
    }
    return _render(_parts(fmt), values)


def shown_number(row: InvoiceRow) -> str | None:
    """The number a posted document prints: as frozen at posting, or for documents posted
    before that in the default format; None before posting."""
    if row.number is None:
        return None
    return row.display_number or display_number(row.number, row.issued_on)


def issue_date(moment: datetime, timezone: str) -> date:
    """The date of ``moment`` in the tenant's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()
