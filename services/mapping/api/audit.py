"""The mapping audit: who changed which mapping, when, from what to what. Newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.models import MappingAuditRow
from services.mapping.resolution import audit
from shared.openapi_docs import ApiModel
from shared.pagination import Page
from shared.wire import UtcDateTime, as_utc, ordered

router = APIRouter(prefix="/v1", tags=["mapping audit"])


class AuditEntryOut(ApiModel):
    id: int
    """The entry's number, increasing in the order of the changes."""
    at: UtcDateTime
    """When the change was made."""
    actor: str | None
    """The id of the API key that made the change."""
    action: str
    """What was done: `org_mapping.put`, `org_mapping.delete`, `org_mapping.auto_map`,
    `service_mapping.put` or `service_mapping.delete`."""
    module: str
    """The catalog id of the module concerned."""
    org_id: str | None
    """The org whose mapping changed; null for a service mapping."""
    metric: str | None
    """The metric whose service mapping changed; null for an org mapping."""
    company_id: str | None
    """The company of a company's service mapping override, or the company an org is
    mapped to."""
    before: dict[str, Any] | None
    """The mapping before the change; null when there was none."""
    after: dict[str, Any] | None
    """The mapping after the change; null when it was removed."""


def _out(row: MappingAuditRow) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        module=row.module,
        org_id=row.org_id,
        metric=row.metric,
        company_id=row.company_id,
        before=row.before,
        after=row.after,
    )


@router.get(
    "/mapping-audit", response_model=Page[AuditEntryOut], summary="List the mapping changes"
)
async def mapping_audit(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=64)] = None,
    org_id: Annotated[str | None, Query(max_length=200)] = None,
    metric: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> Page[AuditEntryOut]:
    """Who changed which org or service mapping, when, from what to what, newest first; the
    query narrows by module, org, metric, action, actor (API key id) and time."""
    where = audit.AuditFilter(
        module,
        org_id,
        metric,
        action,
        actor,
        None if since is None else as_utc(since),
        None if until is None else as_utc(until),
    )
    ordered(where.since, where.until)
    async with runtime.sessions() as session:
        page = await audit.entries(session, ctx.tenant_id, where, paging)
    return Page(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)
