"""Service mappings: ``(module, metric)`` to the contract services it feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping import audit
from services.mapping.api.deps import Caller, Runtime, company_or_404
from services.mapping.consumer import publish_resolved
from services.mapping.models import TENANT_WIDE, ServiceMappingRow
from services.mapping.resolution.usage import of_metric, reresolve
from shared.catalog import CATALOG
from shared.events import MappingChanged
from shared.problems import NotFound

router = APIRouter(prefix="/v1", tags=["service mappings"])

ServiceCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
    ),
]


class ServiceMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_codes: list[ServiceCode] = Field(min_length=1, max_length=20)


class ServiceMappingOut(BaseModel):
    module: str
    metric: str
    company_id: str | None
    service_codes: list[str]
    reresolved: int = 0


def _check(module: str, metric: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")
    if CATALOG.metric(module, metric) is None:
        raise NotFound(f"Unknown metric {metric!r} for module {module}.")


async def _save(
    runtime: Runtime,
    session: AsyncSession,
    tenant_id: str,
    actor: str,
    module: str,
    metric: str,
    company_id: str,
    codes: list[str] | None,
) -> int:
    row = await session.get(ServiceMappingRow, (tenant_id, module, metric, company_id))
    before = None if row is None else {"service_codes": json.loads(row.service_codes)}
    if codes is None:
        if row is None:
            raise NotFound(f"No service mapping for {module}/{metric}.")
        await session.delete(row)
    elif row is None:
        session.add(
            ServiceMappingRow(
                tenant_id=tenant_id,
                module=module,
                metric=metric,
                company_id=company_id,
                service_codes=json.dumps(codes),
                updated_at=datetime.now(UTC),
            )
        )
    else:
        row.service_codes, row.updated_at = json.dumps(codes), datetime.now(UTC)
    await session.flush()
    resolved = await reresolve(session, tenant_id, of_metric(module, metric, company_id or None))
    await publish_resolved(runtime, session, tenant_id, resolved)
    await runtime.outbox.add(
        session,
        tenant_id,
        MappingChanged(
            kind="service",
            module=module,
            metric=metric,
            company_id=company_id or None,
            service_codes=tuple(codes or ()),
            reresolved=len(resolved),
            actor=actor,
        ),
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        audit.Change(
            "service_mapping.delete" if codes is None else "service_mapping.put",
            module,
            metric=metric,
            company_id=company_id or None,
            before=before,
            after=None if codes is None else {"service_codes": codes},
        ),
    )
    return len(resolved)


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))


@router.get("/service-mappings", response_model=list[ServiceMappingOut])
async def list_service_mappings(ctx: Caller, runtime: Runtime) -> list[ServiceMappingOut]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(ServiceMappingRow)
            .where(ServiceMappingRow.tenant_id == ctx.tenant_id)
            .order_by(
                ServiceMappingRow.module, ServiceMappingRow.metric, ServiceMappingRow.company_id
            )
        )
        return [
            ServiceMappingOut(
                module=r.module,
                metric=r.metric,
                company_id=r.company_id or None,
                service_codes=json.loads(r.service_codes),
            )
            for r in rows
        ]


@router.put("/service-mappings/{module}/{metric}", response_model=ServiceMappingOut)
async def put_service_mapping(
    module: str, metric: str, body: ServiceMappingIn, ctx: Caller, runtime: Runtime
) -> ServiceMappingOut:
    _check(module, metric)
    codes = _unique(body.service_codes)
    async with runtime.transaction() as session:
        count = await _save(
            runtime, session, ctx.tenant_id, ctx.key_id, module, metric, TENANT_WIDE, codes
        )
    return ServiceMappingOut(
        module=module, metric=metric, company_id=None, service_codes=codes, reresolved=count
    )


@router.delete("/service-mappings/{module}/{metric}", status_code=204)
async def delete_service_mapping(
    module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    _check(module, metric)
    async with runtime.transaction() as session:
        await _save(runtime, session, ctx.tenant_id, ctx.key_id, module, metric, TENANT_WIDE, None)
    return Response(status_code=204)


@router.put(
    "/companies/{company_id}/service-mappings/{module}/{metric}",
    response_model=ServiceMappingOut,
)
async def put_company_service_mapping(
    company_id: str,
    module: str,
    metric: str,
    body: ServiceMappingIn,
    ctx: Caller,
    runtime: Runtime,
) -> ServiceMappingOut:
    """A company override: wins over the tenant-wide mapping for that company's orgs."""
    _check(module, metric)
    codes = _unique(body.service_codes)
    async with runtime.transaction() as session:
        await company_or_404(session, ctx.tenant_id, company_id)
        count = await _save(
            runtime, session, ctx.tenant_id, ctx.key_id, module, metric, company_id, codes
        )
    return ServiceMappingOut(
        module=module, metric=metric, company_id=company_id, service_codes=codes, reresolved=count
    )


@router.delete("/companies/{company_id}/service-mappings/{module}/{metric}", status_code=204)
async def delete_company_service_mapping(
    company_id: str, module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    _check(module, metric)
    async with runtime.transaction() as session:
        await company_or_404(session, ctx.tenant_id, company_id)
        await _save(runtime, session, ctx.tenant_id, ctx.key_id, module, metric, company_id, None)
    return Response(status_code=204)
