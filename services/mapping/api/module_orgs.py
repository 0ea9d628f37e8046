"""Module orgs discovered from usage, their suggested companies, and their mapping."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, model_validator

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.companies.service import UnknownCompany
from services.mapping.matching import scoring as matching
from services.mapping.matching import service as matching_service
from services.mapping.resolution import service as resolution
from services.mapping.resolution.rules import MappingStatus, OrgTarget
from shared.catalog import CATALOG
from shared.pagination import Page
from shared.problems import NotFound, invalid
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["module orgs"])


class Suggestion(BaseModel):
    company_id: str
    name: str
    score: float
    evidence: str | None = None
    """The name of an org already mapped to the company that matched, if not its own name."""

    @classmethod
    def of(cls, s: matching.Suggestion) -> Suggestion:
        return cls(company_id=s.company_id, name=s.name, score=s.score, evidence=s.evidence)


class ModuleOrgOut(BaseModel):
    module: str
    org_id: str
    org_name: str
    status: MappingStatus
    company_id: str | None
    first_seen: date
    last_seen: date
    suggestions: list[Suggestion] = []

    @classmethod
    def of(cls, o: matching_service.ModuleOrg) -> ModuleOrgOut:
        return cls(
            module=o.module,
            org_id=o.org_id,
            org_name=o.org_name,
            status=o.status,
            company_id=o.company_id,
            first_seen=o.first_seen,
            last_seen=o.last_seen,
            suggestions=[Suggestion.of(s) for s in o.suggestions],
        )


def _page(page: Page[matching_service.ModuleOrg]) -> Page[ModuleOrgOut]:
    return Page(items=[ModuleOrgOut.of(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/module-orgs", response_model=Page[ModuleOrgOut])
async def list_module_orgs(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=64)] = None,
    status: MappingStatus | None = None,
    q: Annotated[str | None, Query(max_length=300)] = None,
) -> Page[ModuleOrgOut]:
    """Unmapped orgs carry their ranked company suggestions (score 0 to 1)."""
    async with runtime.sessions() as session:
        page = await matching_service.module_orgs(session, ctx.tenant_id, paging, module, status, q)
    return _page(page)


@router.get("/companies/{company_id}/module-orgs", response_model=Page[ModuleOrgOut])
async def company_module_orgs(
    company_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[ModuleOrgOut]:
    async with runtime.sessions() as session:
        page = await matching_service.company_module_orgs(
            session, ctx.tenant_id, company_id, paging
        )
    return _page(page)


class OrgMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_id: str | None = None
    excluded: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> OrgMappingIn:
        if (self.company_id is None) == (not self.excluded):
            raise ValueError("give either company_id or excluded: true")
        return self


class OrgMappingOut(BaseModel):
    module: str
    org_id: str
    company_id: str | None
    excluded: bool
    updated_at: UtcDateTime
    reresolved: int
    """The org's usage records, re-resolved with the new mapping."""
    queued: bool = False
    """Whether the ``reresolved`` records were still being re-resolved in the background
    when the answer was sent, rather than done already."""


def _check_module(module: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")


@router.put("/module-orgs/{module}/{org_id}/mapping", response_model=OrgMappingOut)
async def put_org_mapping(
    module: str, org_id: str, body: OrgMappingIn, ctx: Caller, runtime: Runtime
) -> OrgMappingOut:
    """Maps the org (or excludes it) and re-resolves all of its usage."""
    _check_module(module)
    target = OrgTarget(body.company_id, body.excluded)
    try:
        done, pending = await resolution.map_org(
            resolution.MappingWork.of(runtime), ctx.tenant_id, ctx.key_id, module, org_id, target
        )
    except UnknownCompany as exc:
        raise invalid(["body", "company_id"], f"no company {body.company_id}") from exc
    return OrgMappingOut(
        module=module,
        org_id=org_id,
        company_id=body.company_id,
        excluded=body.excluded,
        updated_at=done.updated_at,
        reresolved=done.reresolved,
        queued=pending,
    )


@router.delete("/module-orgs/{module}/{org_id}/mapping", status_code=204)
async def delete_org_mapping(module: str, org_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """The org's usage becomes unbilled again."""
    _check_module(module)
    await resolution.map_org(
        resolution.MappingWork.of(runtime), ctx.tenant_id, ctx.key_id, module, org_id, None
    )
    return Response(status_code=204)
