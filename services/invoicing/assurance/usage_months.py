"""Keeps :data:`~.models.usage_months` (the unit table summed per month) in step with the unit
table: :func:`record_unit_writes` is called once per batch of resolved usage with the records
the unit table holds for the batch's keys before the batch is written.

It moves the quantities of the records the batch replaces out of the month and those of the
batch in, under each record's resolution (status, company, service codes); the unit write
passes the records that count by its own rule (a version newer than the stored one). A
correction thus moves a quantity within one summary row, a re-resolution from one row to
another; rows that fall to 0 stay (their sums are 0). The moves are summed here, per summary
row, and added to the table by one ``INSERT ... ON CONFLICT DO UPDATE`` per chunk (on
PostgreSQL the moves travel as arrays, one element per day moved, and the statement sums
them into rows): the unit rows are read once, by the unit table's own lookup, and the
database only adds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import SmallInteger, column, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.models import (
    CODES_SEPARATOR,
    MONTH_DAYS,
    day_column,
    usage_months,
)
from shared.db import chunks, dialect_of, insert, insert_rows, unnested
from shared.events import ResolvedUsage

DAYS = [day_column(d) for d in range(1, MONTH_DAYS + 1)]
SUMS = ["quantity", *DAYS]
KEY = [c.name for c in usage_months.primary_key.columns]
MOVES_CHUNK = 5000


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
    sums: dict[tuple[Any, ...], dict[int, Decimal]] = defaultdict(dict)

    def move(on: date, key: tuple[Any, ...], quantity: Decimal) -> None:
        days = sums[(tenant_id, on.replace(day=1), *key)]
        days[on.day] = days.get(on.day, Decimal(0)) + quantity

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
    if dialect_of(session) == "postgresql":
        await _add_moves(session, list(sums.items()))  # the statement orders the rows
        return
    rows = [
        dict(zip(KEY, key, strict=True))
        | {"quantity": sum(days.values(), Decimal(0))}
        | {day_column(d): days.get(d, Decimal(0)) for d in range(1, MONTH_DAYS + 1)}
        for key, days in sorted(sums.items())
    ]
    await insert_rows(session, usage_months, rows, _adding)


async def _add_moves(
    session: AsyncSession, sums: Sequence[tuple[tuple[Any, ...], dict[int, Decimal]]]
) -> None:
    """PostgreSQL: the moves travel as arrays of (summary key, day, quantity), one element
    per day a row moves (rarely more than a few of its 31), and the database sums them into
    rows. Encoding 32 sums for every row cost most of the unit write's time."""
    moves = [(key, day, quantity) for key, days in sums for day, quantity in days.items()]
    columns = usage_months.c
    for part in chunks(moves, MOVES_CHUNK):
        source = unnested(
            "moves",
            [
                *((name, columns[name]) for name in KEY),
                ("day", column("day", SmallInteger)),
                ("moved", columns.quantity),
            ],
            [
                *([key[i] for key, _, _ in part] for i in range(len(KEY))),
                [day for _, day, _ in part],
                [quantity for _, _, quantity in part],
            ],
        )
        keys = [source.c[name] for name in KEY]
        moved = source.c.moved
        summed = (
            select(
                *keys,
                func.sum(moved),
                *(
                    func.coalesce(func.sum(moved).filter(source.c.day == d), 0)
                    for d in range(1, MONTH_DAYS + 1)
                ),
            )
            .group_by(*keys)
            .order_by(*keys)  # rows locked in one order by every writer
        )
        stmt = insert(usage_months, "postgresql").from_select([*KEY, *SUMS], summed)
        await session.execute(_adding(stmt))


def _adding(stmt: Any) -> Any:
    """The insert adds to the sums of the summary rows that exist."""
    return stmt.on_conflict_do_update(
        index_elements=KEY,
        set_={c: usage_months.c[c] + stmt.excluded[c] for c in SUMS},
    )
