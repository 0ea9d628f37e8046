"""A module's connection for the daily pull, "sync now", and the sync history."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator, ConfigDict, Field, HttpUrl, JsonValue

from services.ingest.api.deps import Caller, Runtime, known_module, tenant_today
from services.ingest.runtime import IngestRuntime
from services.ingest.sync import service
from services.ingest.sync.schedule import as_utc
from services.ingest.sync.service import ConnectionChange
from services.ingest.sync.status import SyncStatus, SyncTrigger
from shared.catalog import CATALOG
from shared.changes import changed
from shared.context import CallerContext
from shared.openapi_docs import ApiModel
from shared.pagination import Page, PageParams, page_params
from shared.problems import NotFound

router = APIRouter(prefix="/v1", tags=["module connections"])
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"
Utc = Annotated[datetime, AfterValidator(as_utc)]


def _modules_of(kind: str) -> str:
    modules = [m.id for m in CATALOG.modules if m.connector == kind]
    if len(modules) == len(CATALOG.modules):
        return "every module"
    return ", ".join(f"`{m}`" for m in modules) or "no module yet"


def _credentials_description() -> str:
    kinds = "; ".join(
        f"{kind.id} connector ({_modules_of(kind.id)}): "
        + ", ".join(f"`{c.name}` ({c.description})" for c in kind.credentials)
        for kind in CATALOG.connectors.values()
    )
    return (
        "The secrets of the module's API by name, exactly the names the module's connector "
        f"takes (module catalog): {kinds}. Required for a new connection; absent: the stored "
        "ones are kept. Never shown again: answers name them only."
    )


CONNECTION_EXAMPLE: dict[str, JsonValue] = {
    "base_url": "https://rmm.example.com/api/v2",
    "credentials": {"token": "the module's API token"},
    "sync_time": "02:00",
    "enabled": True,
}


class ConnectionIn(ApiModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CONNECTION_EXAMPLE]})
    base_url: HttpUrl = Field(
        description="Where the module's usage API answers (its connector appends /usage)."
    )
    credentials: dict[str, Annotated[str, Field(min_length=1, max_length=4000)]] | None = Field(
        default=None,
        description=_credentials_description(),
        examples=[{"token": "the module's API token"}],
    )
    sync_time: str | None = Field(
        default=None,
        pattern=HH_MM,
        description="Local HH:MM of the daily pull in the tenant's time zone; absent: the "
        "service default.",
    )
    enabled: bool = Field(
        default=True,
        description="Whether the daily pull runs. An enabled connection is tried against the "
        "module's API before it is saved; a disabled one is saved untried.",
    )


class ConnectionOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    module: str = Field(description="The catalog id of the module.")
    base_url: str = Field(description="Where the module's usage API answers.")
    credential_names: list[str] = Field(
        description="The names of the stored credentials; their values are never shown."
    )
    timezone: str = Field(description="The tenant's time zone the sync time is local to.")
    sync_time: str = Field(description="Local HH:MM of the daily pull.")
    enabled: bool = Field(description="Whether the daily pull runs.")
    created_at: datetime
    """When the connection was first saved."""
    updated_at: datetime
    """When the connection was last changed."""


class ConnectionCheckOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    module: str = Field(description="The catalog id of the module.")
    base_url: str = Field(description="The URL that was tried.")
    credential_names: list[str] = Field(description="The names of the credentials tried.")
    accepted: bool = Field(
        description="Always true: a refused connection answers 422 connection-refused."
    )


class SyncIn(ApiModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})
    date: dt.date | None = Field(
        default=None, description="The day to pull; default: yesterday in the tenant's zone."
    )


class SyncOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    """The sync's id."""
    module: str
    """The catalog id of the module pulled."""
    date: dt.date = Field(validation_alias="day")
    """The day of usage pulled."""
    trigger: SyncTrigger
    """What started it: `scheduled` (the daily pull, catch-up days included) or `manual`
    ("sync now")."""
    status: SyncStatus
    """Where it stands; ``retrying`` days are tried again after a back-off."""
    attempts: int
    """Attempts made so far."""
    created_at: Utc
    """When the sync was queued."""
    started_at: Utc | None
    """When its latest attempt started; null before the first."""
    finished_at: Utc | None
    """When it succeeded or finally failed; null until then."""
    next_attempt_at: Utc | None
    """When it is tried again; null unless it is retrying."""
    records: int
    """Usage records the module answered."""
    accepted: int
    """Records stored new."""
    corrected: int
    """Records that replaced a stored one with another quantity or name."""
    unchanged: int
    """Records equal to the stored ones."""
    rejected: int
    """Records refused by validation (as ``POST /v1/usage`` would refuse them)."""
    error: str | None
    """Why the latest attempt failed; null when it did not."""


@router.put(
    "/modules/{module}/connection",
    response_model=ConnectionOut,
    summary="Connect a module for the daily pull",
)
async def put_connection(
    module: str, body: ConnectionIn, ctx: Caller, runtime: Runtime
) -> ConnectionOut:
    """Creates or replaces the connection; the pull runs daily at ``sync_time`` in the tenant's
    time zone. An enabled connection is first tried against the module's API (one request);
    when the module refuses it or cannot be reached, the answer is 422 connection-refused and
    nothing is stored. Credentials go in and never come out: answers name them only."""
    known_module(module)
    before = await _current(module, ctx, runtime)
    connection = await service.save_connection(
        runtime.syncer, ctx.tenant_id, ctx.timezone, module, _change(body), tenant_today(ctx)
    )
    after = ConnectionOut.model_validate(connection)
    changed("connections", module, "connection.save", before, after)
    return after


@router.post(
    "/modules/{module}/connection/test",
    response_model=ConnectionCheckOut,
    summary="Test a module connection without saving it",
)
async def check_connection(
    module: str, body: ConnectionIn, ctx: Caller, runtime: Runtime
) -> ConnectionCheckOut:
    """Tries a connection against the module's API as saving would, and stores nothing.
    Without ``credentials`` the stored ones are tried (e.g. against a new ``base_url``)."""
    known_module(module)
    check = await service.check_connection(
        runtime.syncer, ctx.tenant_id, module, _change(body), tenant_today(ctx)
    )
    return ConnectionCheckOut.model_validate(check)


def _change(body: ConnectionIn) -> ConnectionChange:
    return ConnectionChange(
        base_url=str(body.base_url),
        credentials=body.credentials,
        sync_time=body.sync_time,
        enabled=body.enabled,
    )


@router.get(
    "/modules/{module}/connection",
    response_model=ConnectionOut,
    summary="Show a module's connection",
)
async def get_connection(module: str, ctx: Caller, runtime: Runtime) -> ConnectionOut:
    """The connection as saved, its credentials by name only; 404 when the module has none."""
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


@router.delete("/modules/{module}/connection", status_code=204, summary="Disconnect a module")
async def delete_connection(module: str, ctx: Caller, runtime: Runtime) -> Response:
    """Stops the daily pull; usage already received and the sync history stay."""
    known_module(module)
    before = await _current(module, ctx, runtime)
    async with runtime.transaction() as session:
        await service.delete_connection(session, ctx.tenant_id, module)
    changed("connections", module, "connection.delete", before, None)
    return Response(status_code=204)


async def _current(module: str, ctx: CallerContext, runtime: IngestRuntime) -> ConnectionOut | None:
    """The connection as it is before a change, for the audit (credentials named, not shown)."""
    try:
        async with runtime.sessions() as session:
            found = await service.get_connection(
                session,
                ctx.tenant_id,
                module,
                cipher=runtime.syncer.cipher,
                default_sync_time=runtime.settings.sync_time,
            )
    except NotFound:
        return None
    return ConnectionOut.model_validate(found)


@router.post("/modules/{module}/sync", response_model=SyncOut, summary="Sync a module now")
async def sync_now(
    module: str, ctx: Caller, runtime: Runtime, body: SyncIn | None = None
) -> SyncOut:
    """Pulls one day now (default: yesterday) and answers how it went; the body may be left
    out. A day that failed for a passing reason is retried by the scheduler
    (``status: retrying``)."""
    known_module(module)
    body = body or SyncIn()
    row = await service.sync_now(
        runtime.syncer,
        ctx.tenant_id,
        module,
        body.date,
        tenant_today(ctx),
        runtime.settings.usage_max_age_days,
    )
    return SyncOut.model_validate(row)


@router.get(
    "/modules/{module}/syncs", response_model=Page[SyncOut], summary="List a module's syncs"
)
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
