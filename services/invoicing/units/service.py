"""The unit table: resolved usage as invoicing keeps it (latest resolution of each key wins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import UnitRow
from shared.db import chunks, dialect_of, match_keys
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
    stored: dict[tuple[Any, ...], int] = {}
    dialect = dialect_of(session)
    key_cols = [c.module, c.org_id, c.metric, c.day]
    for part in chunks(list(newest), KEY_CHUNK):
        query = (
            select(c.module, c.org_id, c.metric, c.day, func.max(c.version))
            .where(c.tenant_id == tenant_id, match_keys(dialect, key_cols, part))
            .group_by(c.module, c.org_id, c.metric, c.day)
        )
        for m, o, me, d, version in await session.execute(query):
            stored[(m, o, me, d)] = version
    fresh = [r for k, r in newest.items() if stored.get(k, 0) < r.version]
    replaced = [k for k, r in newest.items() if k in stored and stored[k] < r.version]
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
    for part in chunks(rows, 2000):
        await session.execute(_units.insert(), list(part))
    return len(fresh)
