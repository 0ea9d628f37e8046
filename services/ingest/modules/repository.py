"""Module activity (from the usage records) and module billing; queries only, the caller
commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleBillingRow, UsageRecordRow

_records = cast(Table, UsageRecordRow.__table__)


@dataclass(frozen=True)
class ModuleActivity:
    last_usage_date: date | None
    org_count: int


async def module_activity(session: AsyncSession, tenant_id: str) -> dict[str, ModuleActivity]:
    c = _records.c
    query = (
        select(c.module, func.max(c.day), func.count(func.distinct(c.org_id)))
        .where(c.tenant_id == tenant_id)
        .group_by(c.module)
    )
    return {
        module: ModuleActivity(last_day, count)
        for module, last_day, count in await session.execute(query)
    }


async def module_billing(session: AsyncSession, tenant_id: str) -> dict[str, ModuleBillingRow]:
    rows = await session.scalars(
        select(ModuleBillingRow).where(ModuleBillingRow.tenant_id == tenant_id)
    )
    return {row.module: row for row in rows}


async def set_module_billing(
    session: AsyncSession,
    tenant_id: str,
    module: str,
    enabled: bool,
    effective_from: date | None,
    now: datetime,
) -> ModuleBillingRow:
    row = await session.get(ModuleBillingRow, (tenant_id, module))
    if row is None:
        row = ModuleBillingRow(
            tenant_id=tenant_id,
            module=module,
            enabled=enabled,
            effective_from=effective_from,
            updated_at=now,
        )
        session.add(row)
    else:
        row.enabled, row.effective_from, row.updated_at = enabled, effective_from, now
    await session.flush()
    return row
