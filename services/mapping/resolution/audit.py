"""The audit of mapping changes, written in the transaction of the change itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import MappingAuditRow
from shared.changes import changed
from shared.pagination import Page, PageParams, paginate

# Keyset pagination walks ascending keys; the negated id walks the log newest first.
NEWEST_FIRST = [-MappingAuditRow.id.expression]


class Action(StrEnum):
    ORG_PUT = "org_mapping.put"
    ORG_DELETE = "org_mapping.delete"
    ORG_AUTO_MAP = "org_mapping.auto_map"
    SERVICE_PUT = "service_mapping.put"
    SERVICE_DELETE = "service_mapping.delete"


@dataclass(frozen=True)
class Change:
    """What changed: an org mapping (``org_id``) or a service mapping (``metric``, with
    ``company_id`` for a company override); ``before``/``after`` None where there is none."""

    action: Action
    module: str
    org_id: str | None = None
    metric: str | None = None
    company_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


async def record(
    session: AsyncSession, tenant_id: str, actor: str | None, at: datetime, *changes: Change
) -> None:
    """One row per change that changed something, in one bulk insert."""
    rows = [
        {
            "tenant_id": tenant_id,
            "at": at,
            "actor": actor,
            "action": c.action,
            "module": c.module,
            "org_id": c.org_id,
            "metric": c.metric,
            "company_id": c.company_id,
            "before": c.before,
            "after": c.after,
        }
        for c in changes
        if c.before != c.after
    ]
    for c in changes:
        if c.before != c.after:
            report_change(c)
    if rows:
        await session.execute(insert(MappingAuditRow), rows)


def report_change(change: Change) -> None:
    """The change for the gateway's audit too, filed under the API's collection."""
    if change.org_id is not None:
        resource, resource_id = "module-orgs", f"{change.module}/{change.org_id}"
    else:
        resource, resource_id = "service-mappings", f"{change.module}/{change.metric}"
        if change.company_id is not None:
            resource_id = f"{change.company_id}/{resource_id}"
    changed(resource, resource_id, change.action.value, change.before, change.after)


@dataclass(frozen=True)
class AuditFilter:
    """Entries matching every given field; ``since`` inclusive, ``until`` exclusive."""

    module: str | None = None
    org_id: str | None = None
    metric: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def entries(
    session: AsyncSession, tenant_id: str, where: AuditFilter, paging: PageParams
) -> Page[MappingAuditRow]:
    """The tenant's audit entries, newest first."""
    row = MappingAuditRow
    query = select(row).where(row.tenant_id == tenant_id)
    for column, value in (
        (row.module, where.module),
        (row.org_id, where.org_id),
        (row.metric, where.metric),
        (row.action, where.action),
        (row.actor, where.actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(row.at >= where.since)
    if where.until is not None:
        query = query.where(row.at < where.until)
    return await paginate(
        session, query, NEWEST_FIRST, paging, lambda r: r[0], lambda r: (-r[0].id,)
    )
