"""The mapping audit: who changed which mapping, when, from what to what. Newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.models import MappingAuditRow
from services.mapping.resolution import audit
from shared.pagination import Page
from shared.wire import UtcDateTime, as_utc, ordered

router = APIRouter(prefix="/v1", tags=["mapping audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: UtcDateTime
    actor: str | None
    """The id of the API key that made the change."""
    action: str
    module: str
    org_id: str | None
    metric: str | None
    company_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


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


@router.get("/mapping-audit", response_model=Page[AuditEntryOut])
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
