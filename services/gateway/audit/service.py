"""The audit trail's use cases: record a write with what it changed, record a failed
authentication, and page through a tenant's trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditRow
from shared.changes import Change
from shared.context import CallerContext
from shared.pagination import Page, PageParams, paginate

AUTH_FAILED = "auth.failed"
Order = Literal["newest", "oldest"]


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    status: int
    request_id: str
    source: str


def _path_resource(path: str) -> tuple[str | None, str | None]:
    """The collection and id a path names (``/v1/contracts/c1/...`` -> contracts, c1): what
    a write that reported no change is filed under."""
    parts = [p for p in path.split("/") if p][1:]
    return (parts[0][:64] if parts else None), (parts[1][:200] if len(parts) > 1 else None)


async def record(
    session: AsyncSession,
    ctx: CallerContext,
    write: Write,
    changes: list[Change],
    now: datetime,
) -> None:
    """One row per change the owning service reported, or one for the write if none."""
    base = {
        "tenant_id": ctx.tenant_id,
        "key_id": ctx.key_id,
        "method": write.method,
        "path": write.path[:500],
        "status": write.status,
        "request_id": write.request_id[:64],
        "source": write.source[:64],
        "at": now,
    }
    if not changes:
        resource, resource_id = _path_resource(write.path)
        rows = [{**base, "resource": resource, "resource_id": resource_id, "action": None}]
    else:
        rows = [
            {
                **base,
                "resource": c.resource,
                "resource_id": c.resource_id,
                "action": c.action,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ]
    await session.execute(insert(AuditRow), rows)


async def record_auth_failure(
    session: AsyncSession, tenant_id: str, key_id: str, write: Write, now: datetime
) -> None:
    """A refused key that names a key of the tenant (wrong secret, revoked)."""
    ctx_fields = {"tenant_id": tenant_id, "key_id": key_id}
    await session.execute(
        insert(AuditRow),
        [
            {
                **ctx_fields,
                "method": write.method,
                "path": write.path[:500],
                "status": write.status,
                "request_id": write.request_id[:64],
                "source": write.source[:64],
                "at": now,
                "action": AUTH_FAILED,
                "resource": "api-keys",
                "resource_id": key_id,
            }
        ],
    )


@dataclass(frozen=True)
class AuditFilter:
    """Entries matching every given field; ``start`` and ``end`` both included."""

    key_id: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def list_writes(
    session: AsyncSession,
    tenant_id: str,
    paging: PageParams,
    where: AuditFilter,
    order: Order = "newest",
) -> Page[AuditRow]:
    """The tenant's trail, newest first unless ``order`` says oldest."""
    row = AuditRow
    query = select(row).where(row.tenant_id == tenant_id)
    for column, value in (
        (row.key_id, where.key_id),
        (row.resource, where.resource),
        (row.resource_id, where.resource_id),
        (row.action, where.action),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.start is not None:
        query = query.where(row.at >= where.start)
    if where.end is not None:
        query = query.where(row.at <= where.end)
    # Keyset pagination walks ascending keys; the negated id walks the trail newest first.
    sign = -1 if order == "newest" else 1
    key = -row.id.expression if sign < 0 else row.id.expression
    return await paginate(
        session, query, [key], paging, lambda r: r[0], lambda r: (sign * r[0].id,)
    )
