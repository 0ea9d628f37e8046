"""The tenant's gapless invoice numbers, how documents print them, and the invoice date in
the tenant's zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import NumberSequenceRow
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


def display_number(number: int, issued_on: date | None, fmt: str = DEFAULT_NUMBER_FORMAT) -> str:
    """The number as the document prints it, in the tenant's format (``{number}`` with an
    optional width such as ``{number:05}``, ``{year}``)."""
    year = issued_on.year if issued_on is not None else ""
    return fmt.format(number=number, year=year)


def issue_date(moment: datetime, timezone: str) -> date:
    """The date of ``moment`` in the tenant's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()
