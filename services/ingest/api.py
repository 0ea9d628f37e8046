"""Ingest's HTTP API: pushed usage and module billing state."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from services.ingest import repository
from services.ingest.validation import validate_batch
from shared.catalog import CATALOG
from shared.context import CallerContext
from shared.events import ModuleBillingChanged, UsageRecorded
from shared.problems import NotFound, PayloadTooLarge, ValidationFailed, invalid
from shared.runtime import ServiceRuntime, caller, runtime_of

router = APIRouter(prefix="/v1")
Caller = Annotated[CallerContext, Depends(caller)]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
EVENT_RECORDS = 1000


class UsageRecordIn(BaseModel):
    module: str
    org_id: str
    org_name: str
    metric: str
    date: date
    quantity: Decimal


class UsageBatchIn(BaseModel):
    records: list[UsageRecordIn]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str


class RejectedRecord(BaseModel):
    index: int
    errors: list[ErrorItem]


class UsageAccepted(BaseModel):
    accepted: int
    unchanged: int
    corrected: int
    rejected: list[RejectedRecord]


async def _read_records(request: Request, runtime: ServiceRuntime) -> list[Any]:
    limit = runtime.settings.max_body_bytes
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The body is not valid JSON.", errors=[{"loc": ["body"], "msg": str(exc)}]
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise invalid(["body", "records"], "an object with a list 'records' is required")
    records: list[Any] = payload["records"]
    most = runtime.settings.max_usage_records
    if len(records) > most:
        raise PayloadTooLarge(f"{len(records)} records; at most {most} are taken per request.")
    return records


@router.post(
    "/usage",
    response_model=UsageAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": UsageBatchIn.model_json_schema(
                ref_template="#/components/schemas/{model}")}},
        }
    },
)
async def post_usage(request: Request, ctx: Caller, runtime: Runtime) -> UsageAccepted:
    """Stores valid records (durably, before answering) and rejects the others one by one."""
    raw = await _read_records(request, runtime)
    today = datetime.now(ZoneInfo(ctx.timezone)).date()
    valid, rejected, repeats = validate_batch(raw, today, runtime.settings.usage_max_age_days)
    async with runtime.transaction() as session:
        result = await repository.store_usage(session, ctx.tenant_id, valid)
        changed = result.changed
        await runtime.outbox.add(
            session,
            ctx.tenant_id,
            *(UsageRecorded(records=tuple(changed[i : i + EVENT_RECORDS]))
              for i in range(0, len(changed), EVENT_RECORDS)),
        )
    return UsageAccepted.model_validate(
        {
            "accepted": result.accepted,
            "unchanged": result.unchanged + repeats,
            "corrected": result.corrected,
            "rejected": [r.as_json() for r in rejected],
        }
    )


class ModuleBillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    effective_from: date | None = None


class MetricOut(BaseModel):
    id: str
    unit: str
    fractional: bool


class ModuleOut(BaseModel):
    module: str
    name: str
    metrics: list[MetricOut]
    billing_enabled: bool
    effective_from: date | None
    last_usage_date: date | None
    org_count: int


async def _modules(runtime: ServiceRuntime, tenant_id: str) -> list[ModuleOut]:
    async with runtime.sessions() as session:
        activity = await repository.module_activity(session, tenant_id)
        billing = await repository.module_billing(session, tenant_id)
    out = []
    for module in CATALOG.modules:
        state = billing.get(module.id)
        seen = activity.get(module.id)
        out.append(
            ModuleOut(
                module=module.id,
                name=module.name,
                metrics=[MetricOut(id=m.id, unit=m.unit, fractional=m.fractional)
                         for m in module.metrics],
                billing_enabled=bool(state and state.enabled),
                effective_from=state.effective_from if state else None,
                last_usage_date=seen.last_usage_date if seen else None,
                org_count=seen.org_count if seen else 0,
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
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")
    effective_from = body.effective_from
    if body.enabled and effective_from is None:
        effective_from = datetime.now(ZoneInfo(ctx.timezone)).date()
    async with runtime.transaction() as session:
        await repository.set_module_billing(
            session, ctx.tenant_id, module, body.enabled, effective_from
        )
        await runtime.outbox.add(
            session,
            ctx.tenant_id,
            ModuleBillingChanged(module=module, enabled=body.enabled, effective_from=effective_from),
        )
    return next(m for m in await _modules(runtime, ctx.tenant_id) if m.module == module)
