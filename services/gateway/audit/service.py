"""The audit trail's use cases: record a write, and page through a tenant's writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditRow
from shared.context import CallerContext
from shared.pagination import Page, PageParams, paginate


async def record(
    session: AsyncSession,
    ctx: CallerContext,
    method: str,
    path: str,
    status: int,
    request_id: str,
    now: datetime,
) -> None:
    session.add(
        AuditRow(
            tenant_id=ctx.tenant_id,
            key_id=ctx.key_id,
            method=method,
            path=path[:500],
            status=status,
            request_id=request_id[:64],
            at=now,
        )
    )


async def list_writes(
    session: AsyncSession,
    tenant_id: str,
    paging: PageParams,
    *,
    start: datetime | None,
    end: datetime | None,
) -> Page[AuditRow]:
    """Every write through the gateway by a key of the tenant, oldest first; ``start`` and
    ``end`` bound the time, both included."""
    query = select(AuditRow).where(AuditRow.tenant_id == tenant_id)
    if start is not None:
        query = query.where(AuditRow.at >= start)
    if end is not None:
        query = query.where(AuditRow.at <= end)
    return await paginate(
        session, query, [AuditRow.id.expression], paging, lambda r: r[0], lambda r: (r[0].id,)
    )
