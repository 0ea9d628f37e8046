"""A module's connection for the daily pull, "sync now", and the sync history.

Credentials go in and never come out: answers name them, never show them.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from services.ingest.api.deps import Caller, Runtime, known_module, tenant_today
from services.ingest.models import ModuleConnectionRow, ModuleSyncRow
from services.ingest.sync import store
from services.ingest.sync.runner import NoConnection, Syncer
from services.ingest.sync.schedule import as_utc
from shared.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.problems import NotFound, ServiceUnavailable, invalid

router = APIRouter(prefix="/v1", tags=["module connections"])
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


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
    id: int
    module: str
    date: dt.date
    trigger: Literal["scheduled", "manual"]
    status: Literal["pending", "running", "retrying", "succeeded", "failed", "superseded"]
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    records: int
    accepted: int
    corrected: int
    unchanged: int
    rejected: int
    error: str | None


def _connection_out(syncer: Syncer, row: ModuleConnectionRow) -> ConnectionOut:
    names = sorted(syncer.cipher.open(row.credentials)) if syncer.cipher else []
    return ConnectionOut(
        module=row.module,
        base_url=row.base_url,
        credential_names=names,
        timezone=row.timezone,
        sync_time=row.sync_time or syncer.runtime.settings.sync_time,
        enabled=row.enabled,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def sync_out(row: ModuleSyncRow) -> SyncOut:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return SyncOut.model_validate(
        {
            "id": row.id,
            "module": row.module,
            "date": row.day,
            "trigger": row.trigger,
            "status": row.status,
            "attempts": row.attempts,
            "created_at": as_utc(row.created_at),
            "started_at": utc(row.started_at),
            "finished_at": utc(row.finished_at),
            "next_attempt_at": utc(row.next_attempt_at),
            "records": row.records,
            "accepted": row.accepted,
            "corrected": row.corrected,
            "unchanged": row.unchanged,
            "rejected": row.rejected,
            "error": row.error,
        }
    )


@router.put("/modules/{module}/connection", response_model=ConnectionOut)
async def put_connection(
    module: str, body: ConnectionIn, ctx: Caller, runtime: Runtime
) -> ConnectionOut:
    """Creates or replaces the connection; the pull runs daily at ``sync_time`` in the tenant's
    time zone."""
    known_module(module)
    syncer = runtime.syncer
    if syncer.cipher is None:
        raise ServiceUnavailable("Connections need ICB_CONNECTION_KEY to be configured.")
    async with runtime.transaction() as session:
        existing = await store.get_connection(session, ctx.tenant_id, module)
        if body.credentials is not None:
            credentials = body.credentials
        elif existing is not None:
            credentials = syncer.cipher.open(existing.credentials)
        else:
            raise invalid(["body", "credentials"], "required for a new connection")
        for name in syncer.connectors.for_module(module).credential_names:
            if name not in credentials:
                raise invalid(["body", "credentials", name], "required by this module's API")
        data = store.ConnectionIn(
            base_url=str(body.base_url),
            sealed_credentials=syncer.cipher.seal(credentials),
            timezone=ctx.timezone,
            sync_time=body.sync_time,
            enabled=body.enabled,
        )
        row, _ = await store.put_connection(session, ctx.tenant_id, module, data, syncer.clock())
    return _connection_out(syncer, row)


@router.get("/modules/{module}/connection", response_model=ConnectionOut)
async def get_connection(module: str, ctx: Caller, runtime: Runtime) -> ConnectionOut:
    known_module(module)
    async with runtime.sessions() as session:
        row = await store.get_connection(session, ctx.tenant_id, module)
    if row is None:
        raise NotFound(f"The module {module} has no connection.")
    return _connection_out(runtime.syncer, row)


@router.delete("/modules/{module}/connection", status_code=204)
async def delete_connection(module: str, ctx: Caller, runtime: Runtime) -> Response:
    """Stops the daily pull; usage already received and the sync history stay."""
    known_module(module)
    async with runtime.transaction() as session:
        if not await store.delete_connection(session, ctx.tenant_id, module):
            raise NotFound(f"The module {module} has no connection.")
    return Response(status_code=204)


@router.post("/modules/{module}/sync", response_model=SyncOut)
async def sync_now(module: str, body: SyncIn, ctx: Caller, runtime: Runtime) -> SyncOut:
    """Pulls one day now (default: yesterday) and answers how it went. A day that failed for
    a passing reason is retried by the scheduler (``status: retrying``)."""
    known_module(module)
    today = tenant_today(ctx)
    day = body.date or today - timedelta(days=1)
    if day > today:
        raise invalid(["body", "date"], f"{day} is in the future for the tenant")
    oldest = today - timedelta(days=runtime.settings.usage_max_age_days)
    if day < oldest:
        raise invalid(["body", "date"], f"{day} is older than {oldest}")
    try:
        row = await runtime.syncer.sync_now(ctx.tenant_id, module, day)
    except NoConnection as exc:
        raise NotFound(f"The module {module} has no connection.") from exc
    return sync_out(row)


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
    after = _after(paging.cursor) if paging.cursor else None
    async with runtime.sessions() as session:
        rows = await store.list_syncs(
            session, ctx.tenant_id, module, start=from_, end=to, after=after, limit=paging.limit + 1
        )
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    last = rows[-1] if more and rows else None
    return Page(
        items=[sync_out(r) for r in rows],
        next_cursor=encode_cursor([last.day.isoformat(), last.id]) if last else None,
    )


def _after(cursor: str) -> tuple[dt.date, int]:
    values = decode_cursor(cursor)
    try:
        day, sync_id = values
        return dt.date.fromisoformat(day), int(sync_id)
    except (TypeError, ValueError) as exc:
        raise invalid(["query", "cursor"], "not a cursor this API issued") from exc
