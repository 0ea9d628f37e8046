"""The mapping audit: who changed which mapping, when, from what to what. Newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.models import MappingAuditRow
from shared.pagination import Page, paginate

router = APIRouter(prefix="/v1", tags=["mapping audit"])

# Keyset pagination walks ascending keys; the negated id walks the log newest first.
NEWEST_FIRST = [-MappingAuditRow.id.expression]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    """The id of the API key that made the change."""
    action: str
    module: str
    org_id: str | None
    metric: str | None
    company_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes, PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _out(row: MappingAuditRow) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        at=_utc(row.at),
        actor=row.actor,
        action=row.action,
        module=row.module,
        org_id=row.org_id,
        metric=row.metric,
        company_id=row.company_id,
        before=json.loads(row.before) if row.before else None,
        after=json.loads(row.after) if row.after else None,
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
    query = select(MappingAuditRow).where(MappingAuditRow.tenant_id == ctx.tenant_id)
    for column, value in (
        (MappingAuditRow.module, module),
        (MappingAuditRow.org_id, org_id),
        (MappingAuditRow.metric, metric),
        (MappingAuditRow.action, action),
        (MappingAuditRow.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(MappingAuditRow.at >= _utc(since))
    if until is not None:
        query = query.where(MappingAuditRow.at < _utc(until))
    async with runtime.sessions() as session:
        return await paginate(
            session, query, NEWEST_FIRST, paging, lambda r: _out(r[0]), lambda r: (-r[0].id,)
        )
