"""The module catalog with each module's billing state, activity and pull status."""

from __future__ import annotations

import datetime as dt
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.ingest.api.deps import Caller, Paging, Runtime, known_module, tenant_today
from services.ingest.modules import service
from services.ingest.sync.status import SyncStatus
from shared.changes import changed
from shared.clock import utc_now
from shared.pagination import Page, page_of
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["modules"])


class ModuleBillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    effective_from: date | None = None


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    unit: str
    fractional: bool


class LastSyncOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    date: dt.date
    status: SyncStatus
    finished_at: UtcDateTime | None


class ModuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    module: str
    name: str
    metrics: list[MetricOut]
    billing_enabled: bool
    effective_from: date | None
    last_usage_date: date | None
    org_count: int
    connected: bool
    last_sync: LastSyncOut | None


@router.get("/modules", response_model=Page[ModuleOut])
async def list_modules(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[ModuleOut]:
    """Every catalog module, in catalog order."""
    async with runtime.sessions() as session:
        views = await service.list_modules(session, ctx.tenant_id)
    page = page_of(views, paging)
    return Page(
        items=[ModuleOut.model_validate(v) for v in page.items], next_cursor=page.next_cursor
    )


@router.put("/modules/{module}/billing", response_model=ModuleOut)
async def put_module_billing(
    module: str, body: ModuleBillingIn, ctx: Caller, runtime: Runtime
) -> ModuleOut:
    """Billing applies to usage of days from ``effective_from`` on (default: today)."""
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
