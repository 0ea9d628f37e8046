"""The module catalog with each module's billing state, activity and pull status."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.ingest import repository
from services.ingest.api.deps import Caller, Runtime, known_module, tenant_today
from services.ingest.models import ModuleSyncRow
from services.ingest.runtime import IngestRuntime
from services.ingest.sync import store
from services.ingest.sync.schedule import as_utc
from shared.catalog import CATALOG
from shared.events import ModuleBillingChanged

router = APIRouter(prefix="/v1", tags=["modules"])


class ModuleBillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    effective_from: date | None = None


class MetricOut(BaseModel):
    id: str
    unit: str
    fractional: bool


class LastSyncOut(BaseModel):
    date: dt.date
    status: Literal["pending", "running", "retrying", "succeeded", "failed", "superseded"]
    finished_at: datetime | None


class ModuleOut(BaseModel):
    module: str
    name: str
    metrics: list[MetricOut]
    billing_enabled: bool
    effective_from: date | None
    last_usage_date: date | None
    org_count: int
    connected: bool
    last_sync: LastSyncOut | None


def _last_sync(row: ModuleSyncRow | None) -> LastSyncOut | None:
    if row is None:
        return None
    finished = as_utc(row.finished_at) if row.finished_at else None
    return LastSyncOut.model_validate(
        {"date": row.day, "status": row.status, "finished_at": finished}
    )


async def _modules(runtime: IngestRuntime, tenant_id: str) -> list[ModuleOut]:
    async with runtime.sessions() as session:
        activity = await repository.module_activity(session, tenant_id)
        billing = await repository.module_billing(session, tenant_id)
        connected = await store.connected_modules(session, tenant_id)
        syncs = await store.latest_syncs(session, tenant_id)
    out = []
    for module in CATALOG.modules:
        state = billing.get(module.id)
        seen = activity.get(module.id)
        out.append(
            ModuleOut(
                module=module.id,
                name=module.name,
                metrics=[
                    MetricOut(id=m.id, unit=m.unit, fractional=m.fractional) for m in module.metrics
                ],
                billing_enabled=bool(state and state.enabled),
                effective_from=state.effective_from if state else None,
                last_usage_date=seen.last_usage_date if seen else None,
                org_count=seen.org_count if seen else 0,
                connected=module.id in connected,
                last_sync=_last_sync(syncs.get(module.id)),
            )
        )
    return out


@router.get("/modules", response_model=list[ModuleOut])
async def list_modules(ctx: Caller, runtime: Runtime) -> list[ModuleOut]:
    return await _modules(runtime, ctx.tenant_id)


@router.put("/modules/{module}/billing", response_model=ModuleOut)
async def put_module_billing(
    module: str, body: ModuleBillingIn, ctx: Caller, runtime: Runtime
) -> ModuleOut:
    """Billing applies to usage of days from ``effective_from`` on (default: today)."""
    known_module(module)
    effective_from = body.effective_from
    if body.enabled and effective_from is None:
        effective_from = tenant_today(ctx)
    async with runtime.transaction() as session:
        await repository.set_module_billing(
            session, ctx.tenant_id, module, body.enabled, effective_from
        )
        await runtime.outbox.add(
            session,
            ctx.tenant_id,
            ModuleBillingChanged(
                module=module, enabled=body.enabled, effective_from=effective_from
            ),
        )
    return next(m for m in await _modules(runtime, ctx.tenant_id) if m.module == module)
