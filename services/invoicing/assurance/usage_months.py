"""Keeps :data:`~.models.usage_months` (the unit table summed per month) in step with the unit
table: :func:`record_unit_writes` is called once per batch of resolved usage with the records
the unit table holds for the batch's keys before the batch is written.

It moves the quantities of the records the batch replaces out of the month and those of the
batch in, under each record's resolution (status, company, service codes); the unit write
passes the records that count by its own rule (a version newer than the stored one). A
correction thus moves a quantity within one summary row, a re-resolution from one row to
another; rows that fall to 0 stay (their sums are 0). The moves are summed here, per summary
row, and added to the table by one ``INSERT ... ON CONFLICT DO UPDATE`` per chunk (on
PostgreSQL from arrays: :func:`shared.db.insert_rows`): the unit rows are read once, by the
unit table's own lookup, and the database only adds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.models import (
    CODES_SEPARATOR,
    MONTH_DAYS,
    day_column,
    usage_months,
)
from shared.db import insert_rows
from shared.events import ResolvedUsage

DAYS = [day_column(d) for d in range(1, MONTH_DAYS + 1)]
SUMS = ["quantity", *DAYS]
KEY = [c.name for c in usage_months.primary_key.columns]


def codes_of(codes: Iterable[str]) -> str:
    """A record's service codes as the summary keys them."""
    return CODES_SEPARATOR.join(sorted(set(codes) - {""}))


class StoredRecord(NamedTuple):
    """A record as the unit table holds it (its rows: one per service code)."""

    status: str
    company_id: str
    service_codes: frozenset[str]
    quantity: Decimal
    version: int


StoredRecords = Mapping[tuple[str, str, str, date], StoredRecord]
"""(module, org_id, metric, day) -> the stored record of that key"""


async def record_unit_writes(
    session: AsyncSession,
    tenant_id: str,
    records: Sequence[ResolvedUsage],
    stored: StoredRecords,
) -> None:
    """Accounts for ``records`` in the monthly sums: the batch's records that replace what
    the unit table holds for their keys (a newer version, one record per key), with the
    ``stored`` records of those keys as the table holds them before the batch is written."""
    sums: dict[tuple[Any, ...], list[Decimal]] = defaultdict(
        lambda: [Decimal(0)] * (MONTH_DAYS + 1)
    )

    def move(on: date, key: tuple[Any, ...], quantity: Decimal) -> None:
        row = sums[(tenant_id, on.replace(day=1), *key)]
        row[0] += quantity
        row[on.day] += quantity

    for r in records:
        old = stored.get((r.module, r.org_id, r.metric, r.date))
        base = (r.module, r.org_id, r.metric)
        move(r.date, (*base, r.status, r.company_id or "", codes_of(r.service_codes)), r.quantity)
        if old is not None:
            move(
                r.date,
                (*base, old.status, old.company_id, codes_of(old.service_codes)),
                -old.quantity,
            )
    rows = [
        dict(zip(KEY, key, strict=True)) | dict(zip(SUMS, values, strict=True))
        for key, values in sorted(sums.items())
    ]
    await insert_rows(session, usage_months, rows, _adding)


def _adding(stmt: Any) -> Any:
    """The insert adds to the sums of the summary rows that exist."""
    return stmt.on_conflict_do_update(
        index_elements=KEY,
        set_={c: usage_months.c[c] + stmt.excluded[c] for c in SUMS},
    )
