"""The unit table: resolved usage as invoicing keeps it (latest resolution of each key wins),
and as the MSP reads it, day by day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.usage_months import StoredRecord, record_unit_writes
from services.invoicing.billing import MAX_CARRIED_DAYS, fill_missing_days
from services.invoicing.models import UnitRow
from shared.db import chunks, dialect_of, insert_rows, match_keys, rows_by_keys
from shared.events import ResolvedUsage

_units = cast(Table, UnitRow.__table__)
KEY_CHUNK = 2000
NO_SERVICE = ""


async def apply_resolved(
    session: AsyncSession, tenant_id: str, records: Sequence[ResolvedUsage]
) -> int:
    """Replaces the rows of every key whose resolution is newer than the stored one."""
    c = _units.c
    newest: dict[tuple[Any, ...], ResolvedUsage] = {}
    for r in records:
        key = (r.module, r.org_id, r.metric, r.date)
        if key not in newest or newest[key].version < r.version:
            newest[key] = r
    stored = await _stored(session, tenant_id, list(newest))
    fresh = [r for k, r in newest.items() if k not in stored or stored[k].version < r.version]
    replaced = [k for k, r in newest.items() if k in stored and stored[k].version < r.version]
    await record_unit_writes(session, tenant_id, fresh, stored)
    dialect = dialect_of(session)
    key_cols = [c.module, c.org_id, c.metric, c.day]
    for part in chunks(replaced, KEY_CHUNK):
        await session.execute(
            delete(_units).where(c.tenant_id == tenant_id, match_keys(dialect, key_cols, part))
        )
    rows = [
        {
            "tenant_id": tenant_id,
            "module": r.module,
            "org_id": r.org_id,
            "metric": r.metric,
            "day": r.date,
            "service_code": code,
            "status": r.status,
            "company_id": r.company_id,
            "quantity": r.quantity,
            "version": r.version,
        }
        for r in fresh
        for code in (r.service_codes or (NO_SERVICE,))
    ]
    await insert_rows(session, _units, rows)
    return len(fresh)


async def _stored(
    session: AsyncSession, tenant_id: str, keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], StoredRecord]:
    """The records the unit table holds for ``keys`` (a record's rows share all but their
    service code)."""
    c = _units.c
    key_cols = [c.module, c.org_id, c.metric, c.day]
    columns = [*key_cols, c.status, c.company_id, c.service_code, c.quantity, c.version]
    rows: dict[tuple[Any, ...], list[Any]] = {}
    for part in chunks(keys, KEY_CHUNK):
        query = rows_by_keys(dialect_of(session), key_cols, part, columns, c.tenant_id == tenant_id)
        for m, o, me, d, status, company_id, code, quantity, version in await session.execute(
            query
        ):
            row = rows.get((m, o, me, d))
            if row is None:
                rows[(m, o, me, d)] = [status, company_id or "", {code}, quantity, version]
            else:
                row[2].add(code)
                row[4] = max(row[4], version)
    return {
        k: StoredRecord(status, company, frozenset(codes), quantity, version)
        for k, (status, company, codes, quantity, version) in rows.items()
    }


@dataclass(frozen=True, slots=True)
class UsageFilter:
    company_id: str | None = None
    module: str | None = None
    metric: str | None = None


@dataclass(frozen=True, slots=True)
class UsageDay:
    """A company's quantity of one module metric on one day; ``estimated``: carried
    forward from an earlier day."""

    date: date
    company_id: str
    module: str
    metric: str
    quantity: Decimal
    estimated: bool


async def daily_usage(
    session: AsyncSession, tenant_id: str, start: date, end: date, where: UsageFilter
) -> list[UsageDay]:
    """Mapped usage per company, module, metric and day from ``start`` to ``end``, with
    missing days carried forward as billing does (and marked estimated)."""
    u = _units.c
    window = (
        u.tenant_id == tenant_id,
        u.day >= start - timedelta(days=MAX_CARRIED_DAYS),
        u.day <= end,
    )
    per_record = (
        select(u.company_id, u.module, u.org_id, u.metric, u.day, u.quantity)
        .where(*window, u.status == "mapped")
        .distinct()
    )
    for column, value in (
        (u.company_id, where.company_id),
        (u.module, where.module),
        (u.metric, where.metric),
    ):
        if value is not None:
            per_record = per_record.where(column == value)
    sub = per_record.subquery()
    query = select(
        sub.c.company_id, sub.c.module, sub.c.metric, sub.c.day, func.sum(sub.c.quantity)
    ).group_by(sub.c.company_id, sub.c.module, sub.c.metric, sub.c.day)
    series: dict[tuple[str, str, str], dict[date, Decimal]] = defaultdict(dict)
    for cid, mod, met, day, quantity in await session.execute(query):
        series[(cid, mod, met)][day] = Decimal(quantity)
    reported: dict[str, set[date]] = defaultdict(set)
    for mod, day in await session.execute(select(u.module, u.day).where(*window).distinct()):
        reported[mod].add(day)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    out: list[UsageDay] = []
    for (cid, mod, met), values in sorted(series.items()):
        for day, filled in sorted(fill_missing_days(days, reported[mod], values).items()):
            if filled.quantity != 0 or filled.estimated or day in values:
                out.append(UsageDay(day, cid, mod, met, filled.quantity, filled.estimated))
    return out


@dataclass(frozen=True, slots=True)
class DayTotal:
    """The units of every company, module and metric on one day; ``estimated``: some were
    carried forward."""

    date: date
    quantity: Decimal
    estimated: bool


async def daily_totals(
    session: AsyncSession, tenant_id: str, start: date, end: date, where: UsageFilter
) -> list[DayTotal]:
    """The unit table summed per day: one row per day with any units, in date order."""
    totals: dict[date, Decimal] = {}
    estimated: set[date] = set()
    for row in await daily_usage(session, tenant_id, start, end, where):
        totals[row.date] = totals.get(row.date, Decimal(0)) + row.quantity
        if row.estimated:
            estimated.add(row.date)
    return [DayTotal(d, totals[d], d in estimated) for d in sorted(totals)]
