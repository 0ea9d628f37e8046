"""A module's connection for the daily pull, "sync now", and the sync history."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from services.ingest.api.deps import Caller, Runtime, known_module, tenant_today
from services.ingest.sync import service
from services.ingest.sync.schedule import as_utc
from services.ingest.sync.service import ConnectionChange
from services.ingest.sync.status import SyncStatus, SyncTrigger
from shared.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1", tags=["module connections"])
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"
Utc = Annotated[datetime, AfterValidator(as_utc)]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: HttpUrl
    credentials: dict[str, Annotated[str, Field(min_length=1, max_length=4000)]] | None = Field(
        default=None, description="required when the connection is new; absent: kept"
    )
    sync_time: str | None = Field(
        default=None, pattern=HH_MM, description="local HH:MM; absent: the service default"
    )
    enabled: bool = True


class ConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    module: str
    base_url: str
    credential_names: list[str]
    timezone: str
    sync_time: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date | None = Field(default=None, description="default: yesterday")


class SyncOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    module: str
    date: dt.date = Field(validation_alias="day")
    trigger: SyncTrigger
    status: SyncStatus
    attempts: int
    created_at: Utc
    started_at: Utc | None
    finished_at: Utc | None
    next_attempt_at: Utc | None
    records: int
    accepted: int
    corrected: int
    unchanged: int
    rejected: int
    error: str | None


@router.put("/modules/{module}/connection", response_model=ConnectionOut)
async def put_connection(
    module: str, body: ConnectionIn, ctx: Caller, runtime: Runtime
) -> ConnectionOut:
    """Creates or replaces the connection; the pull runs daily at ``sync_time`` in the tenant's
    time zone. Credentials go in and never come out: answers name them, never show them."""
    known_module(module)
    syncer = runtime.syncer
    change = ConnectionChange(
        base_url=str(body.base_url),
        credentials=body.credentials,
        sync_time=body.sync_time,
        enabled=body.enabled,
    )
    async with runtime.transaction() as session:
        connection = await service.save_connection(
            session,
            ctx.tenant_id,
            ctx.timezone,
            module,
            change,
            cipher=syncer.cipher,
            connectors=syncer.connectors,
            default_sync_time=runtime.settings.sync_time,
            now=syncer.clock(),
        )
    return ConnectionOut.model_validate(connection)


@router.get("/modules/{module}/connection", response_model=ConnectionOut)
async def get_connection(module: str, ctx: Caller, runtime: Runtime) -> ConnectionOut:
    known_module(module)
    async with runtime.sessions() as session:
        connection = await service.get_connection(
            session,
            ctx.tenant_id,
            module,
            cipher=runtime.syncer.cipher,
            default_sync_time=runtime.settings.sync_time,
        )
    return ConnectionOut.model_validate(connection)


@router.delete("/modules/{module}/connection", status_code=204)
async def delete_connection(module: str, ctx: Caller, runtime: Runtime) -> Response:
    """Stops the daily pull; usage already received and the sync history stay."""
    known_module(module)
    async with runtime.transaction() as session:
        await service.delete_connection(session, ctx.tenant_id, module)
    return Response(status_code=204)


@router.post("/modules/{module}/sync", response_model=SyncOut)
async def sync_now(module: str, body: SyncIn, ctx: Caller, runtime: Runtime) -> SyncOut:
    """Pulls one day now (default: yesterday) and answers how it went. A day that failed for
    a passing reason is retried by the scheduler (``status: retrying``)."""
    known_module(module)
    row = await service.sync_now(
        runtime.syncer,
        ctx.tenant_id,
        module,
        body.date,
        tenant_today(ctx),
        runtime.settings.usage_max_age_days,
    )
    return SyncOut.model_validate(row)


@router.get("/modules/{module}/syncs", response_model=Page[SyncOut])
async def list_syncs(
    module: str,
    ctx: Caller,
    runtime: Runtime,
    paging: Annotated[PageParams, Depends(page_params)],
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> Page[SyncOut]:
    """The sync history of the module, latest day first; ``from``/``to`` bound the day."""
    known_module(module)
    async with runtime.sessions() as session:
        page = await service.list_syncs(session, ctx.tenant_id, module, paging, start=from_, end=to)
    return Page(items=[SyncOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor)
