"""The module catalog with each module's billing state, activity and pull status."""

from __future__ import annotations

import datetime as dt
from datetime import date

from fastapi import APIRouter
from pydantic import ConfigDict

from services.ingest.api.deps import Caller, Paging, Runtime, known_module, tenant_today
from services.ingest.modules import service
from services.ingest.sync.status import SyncStatus
from shared.changes import changed
from shared.clock import utc_now
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page, page_of
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["modules"])


class ModuleBillingIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=examples({"enabled": True, "effective_from": "2026-03-01"}),
    )
    enabled: bool
    """Whether the module's usage is billed."""
    effective_from: date | None = None
    """The first day the new state applies to; default: today in the tenant's time zone."""


class MetricOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    """The metric's id, as usage records name it."""
    unit: str
    """What one unit of the metric is (device, user, GB...)."""
    fractional: bool
    """Whether quantities may have fractional digits (else whole units only)."""


class LastSyncOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    date: dt.date
    """The day the latest sync pulled."""
    status: SyncStatus
    """How that sync went."""
    finished_at: UtcDateTime | None
    """When it finished; null while it runs or waits for a retry."""


class ModuleOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    module: str
    """The module's catalog id."""
    name: str
    """The module's display name."""
    metrics: list[MetricOut]
    """What the module counts."""
    billing_enabled: bool
    """Whether the module's usage is billed (from ``effective_from``)."""
    effective_from: date | None
    """The first day the billing state applies to; null if it was never set."""
    last_usage_date: date | None
    """The latest day with usage of the module; null before any."""
    org_count: int
    """The module's organisations seen in usage."""
    connected: bool
    """Whether the module has a connection for the daily pull."""
    last_sync: LastSyncOut | None
    """The latest sync of the module; null before any."""


@router.get("/modules", response_model=Page[ModuleOut], summary="List the modules")
async def list_modules(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[ModuleOut]:
    """Every catalog module, in catalog order, with its metrics, billing state, activity and
    the state of its daily pull."""
    async with runtime.sessions() as session:
        views = await service.list_modules(session, ctx.tenant_id)
    page = page_of(views, paging)
    return Page(
        items=[ModuleOut.model_validate(v) for v in page.items], next_cursor=page.next_cursor
    )


@router.put(
    "/modules/{module}/billing",
    response_model=ModuleOut,
    summary="Turn a module's billing on or off",
)
async def put_module_billing(
    module: str, body: ModuleBillingIn, ctx: Caller, runtime: Runtime
) -> ModuleOut:
    """Billing applies to usage of days from ``effective_from`` on (default: today); usage of
    a module whose billing is off is kept and shows as an insight, not on invoices."""
    known_module(module)
    async with runtime.transaction() as session:
        views = await service.list_modules(session, ctx.tenant_id)
        before = next((ModuleOut.model_validate(v) for v in views if v.module == module), None)
        view = await service.set_billing(
            session,
            runtime.outbox,
            ctx.tenant_id,
            module,
            body.enabled,
            body.effective_from,
            tenant_today(ctx),
            utc_now(),
        )
    after = ModuleOut.model_validate(view)
    changed("modules", module, "module_billing.update", before, after)
    return after
