"""Keeps :data:`~.models.usage_months` (the unit table summed per month) in step with the unit
table: :func:`record_unit_writes` is called once per batch of resolved usage, before the
batch is written.

It moves the quantities of the records the batch replaces (their stored rows, not yet
overwritten) out of the month and those of the batch in, under each record's resolution
(status, company, service codes), by the same rule the unit table is written by: a record
counts when its version is newer than the stored one. A correction thus moves a quantity
within one summary row, a re-resolution from one row to another; rows that fall to 0 stay
(their sums are 0). On PostgreSQL this is one statement per batch (the batch as arrays,
``INSERT ... ON CONFLICT DO UPDATE`` adding to the sums); on SQLite (embedded) the moves are
computed here and upserted in chunks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    Numeric,
    String,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.models import (
    CODES_SEPARATOR,
    MONTH_DAYS,
    day_column,
    usage_months,
)
from services.invoicing.models import UnitRow
from shared.db import chunks, dialect_of, match_keys
from shared.events import ResolvedUsage

_u = UnitRow.__table__.c
_t = usage_months.c
DAYS = [day_column(d) for d in range(1, MONTH_DAYS + 1)]
SUMS = ["quantity", *DAYS]
KEY = [c.name for c in usage_months.primary_key.columns]
SQLITE_CHUNK = 400


def codes_of(codes: Iterable[str]) -> str:
    """A record's service codes as the summary keys them."""
    return CODES_SEPARATOR.join(sorted(set(codes) - {""}))


def _newest(records: Sequence[ResolvedUsage]) -> list[ResolvedUsage]:
    newest: dict[tuple[Any, ...], ResolvedUsage] = {}
    for r in records:
        key = (r.module, r.org_id, r.metric, r.date)
        if key not in newest or newest[key].version < r.version:
            newest[key] = r
    return list(newest.values())


async def record_unit_writes(
    session: AsyncSession, tenant_id: str, records: Sequence[ResolvedUsage]
) -> None:
    """Accounts for ``records`` in the monthly sums; call it once per batch, before the
    unit table is written (it reads the rows the batch replaces)."""
    batch = _newest(records)
    if not batch:
        return
    if dialect_of(session) == "postgresql":
        await session.execute(_postgresql_moves(tenant_id, batch))
    else:
        await _sqlite_moves(session, tenant_id, batch)


def _adding(stmt: Any) -> Any:
    """The insert adds to the sums of the summary rows that exist."""
    return stmt.on_conflict_do_update(
        index_elements=KEY,
        set_={c: usage_months.c[c] + stmt.excluded[c] for c in SUMS},
    )


def _postgresql_moves(tenant_id: str, batch: list[ResolvedUsage]) -> Any:
    columns: list[tuple[str, Any, list[Any]]] = [
        ("module", String(), [r.module for r in batch]),
        ("org_id", String(), [r.org_id for r in batch]),
        ("metric", String(), [r.metric for r in batch]),
        ("day", Date(), [r.date for r in batch]),
        ("status", String(), [r.status for r in batch]),
        ("company_id", String(), [r.company_id or "" for r in batch]),
        ("service_codes", String(), [codes_of(r.service_codes) for r in batch]),
        ("quantity", Numeric(), [r.quantity for r in batch]),
        ("version", Integer(), [r.version for r in batch]),
    ]
    arrays = [bindparam(f"b_{n}", values, type_=ARRAY(t)) for n, t, values in columns]
    new = (
        func.unnest(*arrays).table_valued(*(n for n, _, _ in columns)).render_derived(name="batch")
    )
    # What each record of the batch replaces, looked up per record through the unit table's
    # key (a join planned for the whole batch would read every unit row of the tenant as
    # the table grows). An aggregate without GROUP BY answers one row, of NULLs when the
    # record is new.
    stored = (
        select(
            func.min(_u.status).label("status"),
            func.coalesce(func.min(_u.company_id), "").label("company_id"),
            func.string_agg(
                func.nullif(_u.service_code, ""),
                postgresql.aggregate_order_by(literal(CODES_SEPARATOR), _u.service_code),
            ).label("service_codes"),
            func.max(_u.quantity).label("quantity"),
            func.max(_u.version).label("version"),
        )
        .where(
            _u.tenant_id == tenant_id,
            _u.module == new.c.module,
            _u.org_id == new.c.org_id,
            _u.metric == new.c.metric,
            _u.day == new.c.day,
        )
        .lateral("stored")
    )
    pairs = (
        select(
            *(new.c[n].label(n) for n, _, _ in columns),
            stored.c.status.label("old_status"),
            stored.c.company_id.label("old_company_id"),
            stored.c.service_codes.label("old_service_codes"),
            stored.c.quantity.label("old_quantity"),
            stored.c.version.label("old_version"),
        )
        .select_from(new.join(stored, true()))
        .cte("pairs")
    )
    p = pairs.c
    added = select(
        p.module, p.org_id, p.metric, p.day, p.status, p.company_id, p.service_codes, p.quantity
    ).where(p.version > func.coalesce(p.old_version, 0))
    removed = select(
        p.module,
        p.org_id,
        p.metric,
        p.day,
        p.old_status,
        p.old_company_id,
        func.coalesce(p.old_service_codes, ""),
        -p.old_quantity,
    ).where(p.old_version.is_not(None), p.version > p.old_version)
    moves = union_all(added, removed).subquery("moves")
    month = cast(func.date_trunc("month", moves.c.day), Date)
    of_month = extract("day", moves.c.day)
    keys = (
        month,
        moves.c.module,
        moves.c.org_id,
        moves.c.metric,
        moves.c.status,
        moves.c.company_id,
        moves.c.service_codes,
    )
    summed = (
        select(
            literal(tenant_id, String),
            *keys,
            func.sum(moves.c.quantity),
            *(
                func.sum(case((of_month == d, moves.c.quantity), else_=0))
                for d in range(1, MONTH_DAYS + 1)
            ),
        )
        .group_by(*keys)
        .order_by(*keys)
    )
    return _adding(postgresql.insert(usage_months).from_select([*KEY, *SUMS], summed))


async def _sqlite_moves(session: AsyncSession, tenant_id: str, batch: list[ResolvedUsage]) -> None:
    stored: dict[tuple[Any, ...], tuple[str, str, set[str], Decimal, int]] = {}
    record = [_u.module, _u.org_id, _u.metric, _u.day]
    for part in chunks([(r.module, r.org_id, r.metric, r.date) for r in batch], 2000):
        query = select(
            *record, _u.status, _u.company_id, _u.service_code, _u.quantity, _u.version
        ).where(_u.tenant_id == tenant_id, match_keys("sqlite", record, part))
        for row in await session.execute(query):
            key = (row.module, row.org_id, row.metric, row.day)
            codes = stored[key][2] if key in stored else set()
            codes.add(row.service_code)
            stored[key] = (row.status, row.company_id or "", codes, row.quantity, row.version)
    sums: dict[tuple[Any, ...], list[Decimal]] = defaultdict(
        lambda: [Decimal(0)] * (MONTH_DAYS + 1)
    )

    def move(on: date, key: tuple[Any, ...], quantity: Decimal) -> None:
        row = sums[(tenant_id, on.replace(day=1), *key)]
        row[0] += quantity
        row[on.day] += quantity

    for r in batch:
        old = stored.get((r.module, r.org_id, r.metric, r.date))
        if old is not None and old[4] >= r.version:
            continue
        base = (r.module, r.org_id, r.metric)
        move(r.date, (*base, r.status, r.company_id or "", codes_of(r.service_codes)), r.quantity)
        if old is not None:
            move(r.date, (*base, old[0], old[1], codes_of(old[2])), -old[3])
    rows = [
        dict(zip(KEY, key, strict=True)) | dict(zip(SUMS, values, strict=True))
        for key, values in sorted(sums.items())
    ]
    for part in chunks(rows, SQLITE_CHUNK):
        await session.execute(_adding(sqlite.insert(usage_months).values(list(part))))
