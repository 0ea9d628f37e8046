"""Service mappings: ``(module, metric)`` to the contract services it feeds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.resolution import service
from services.mapping.resolution.service_mappings import service_mappings
from shared.catalog import CATALOG
from shared.pagination import Page
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

    def codes(self) -> list[str]:
        """The codes without repetitions, in their order."""
        return list(dict.fromkeys(self.service_codes))


class ServiceMappingOut(BaseModel):
    module: str
    metric: str
    company_id: str | None
    service_codes: list[str]
    reresolved: int = 0
    """The usage records the mapping concerns, re-resolved with it."""
    queued: bool = False
    """Whether the ``reresolved`` records were still being re-resolved in the background
    when the answer was sent, rather than done already."""


def _check(module: str, metric: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")
    if CATALOG.metric(module, metric) is None:
        raise NotFound(f"Unknown metric {metric!r} for module {module}.")


async def _set(
    runtime: Runtime,
    ctx: Caller,
    module: str,
    metric: str,
    company_id: str | None,
    codes: list[str] | None,
) -> ServiceMappingOut:
    _check(module, metric)
    done = await service.set_service_mapping(
        service.MappingWork.of(runtime),
        ctx.tenant_id,
        ctx.key_id,
        module,
        metric,
        company_id,
        codes,
    )
    return ServiceMappingOut(
        module=module,
        metric=metric,
        company_id=company_id,
        service_codes=codes or [],
        reresolved=done.reresolved,
        queued=done.pending,
    )


@router.get("/service-mappings", response_model=Page[ServiceMappingOut])
async def list_service_mappings(
    ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[ServiceMappingOut]:
    """Tenant-wide mappings and company overrides, by module and metric."""
    async with runtime.sessions() as session:
        page = await service_mappings(session, ctx.tenant_id, paging)
    return Page(
        items=[
            ServiceMappingOut(
                module=r.module,
                metric=r.metric,
                company_id=r.company_id or None,
                service_codes=r.service_codes,
            )
            for r in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.put("/service-mappings/{module}/{metric}", response_model=ServiceMappingOut)
async def put_service_mapping(
    module: str, metric: str, body: ServiceMappingIn, ctx: Caller, runtime: Runtime
) -> ServiceMappingOut:
    return await _set(runtime, ctx, module, metric, None, body.codes())


@router.delete("/service-mappings/{module}/{metric}", status_code=204)
async def delete_service_mapping(
    module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    await _set(runtime, ctx, module, metric, None, None)
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
    return await _set(runtime, ctx, module, metric, company_id, body.codes())


@router.delete("/companies/{company_id}/service-mappings/{module}/{metric}", status_code=204)
async def delete_company_service_mapping(
    company_id: str, module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    await _set(runtime, ctx, module, metric, company_id, None)
    return Response(status_code=204)
