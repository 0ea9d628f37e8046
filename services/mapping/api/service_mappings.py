"""Service mappings: ``(module, metric)`` to the contract services it feeds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import ConfigDict, Field, StringConstraints

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.resolution import service
from services.mapping.resolution.service_mappings import service_mappings
from shared.catalog import CATALOG
from shared.openapi_docs import ApiModel, examples
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


class ServiceMappingIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=examples({"service_codes": ["RMM-DEVICE"]})
    )
    service_codes: list[ServiceCode] = Field(min_length=1, max_length=20)
    """The contract services the metric's usage feeds, by ``service_code``."""

    def codes(self) -> list[str]:
        """The codes without repetitions, in their order."""
        return list(dict.fromkeys(self.service_codes))


class ServiceMappingOut(ApiModel):
    module: str
    """The catalog id of the module."""
    metric: str
    """The catalog id of the module's metric."""
    company_id: str | None
    """The company of an override; null for the tenant-wide mapping."""
    service_codes: list[str]
    """The contract services the usage feeds."""
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


@router.get(
    "/service-mappings", response_model=Page[ServiceMappingOut], summary="List service mappings"
)
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


@router.put(
    "/service-mappings/{module}/{metric}",
    response_model=ServiceMappingOut,
    summary="Map a metric to contract services",
)
async def put_service_mapping(
    module: str, metric: str, body: ServiceMappingIn, ctx: Caller, runtime: Runtime
) -> ServiceMappingOut:
    """The tenant-wide mapping of a module's metric to the contract services it feeds,
    for every company without an override; the usage it concerns is re-resolved."""
    return await _set(runtime, ctx, module, metric, None, body.codes())


@router.delete(
    "/service-mappings/{module}/{metric}",
    status_code=204,
    summary="Remove a metric's service mapping",
)
async def delete_service_mapping(
    module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    """The metric's usage feeds no service any more (company overrides stay) and shows as
    an ``unmapped_metric`` insight."""
    await _set(runtime, ctx, module, metric, None, None)
    return Response(status_code=204)


@router.put(
    "/companies/{company_id}/service-mappings/{module}/{metric}",
    response_model=ServiceMappingOut,
    summary="Override a metric's service mapping for a company",
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


@router.delete(
    "/companies/{company_id}/service-mappings/{module}/{metric}",
    status_code=204,
    summary="Remove a company's service mapping override",
)
async def delete_company_service_mapping(
    company_id: str, module: str, metric: str, ctx: Caller, runtime: Runtime
) -> Response:
    """The company's usage of the metric follows the tenant-wide mapping again."""
    await _set(runtime, ctx, module, metric, company_id, None)
    return Response(status_code=204)
