"""Module orgs discovered from usage, their suggested companies, and their mapping."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field, model_validator

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.companies.service import UnknownCompany
from services.mapping.matching import scoring as matching
from services.mapping.matching import service as matching_service
from services.mapping.resolution import service as resolution
from services.mapping.resolution.rules import MappingStatus, OrgTarget
from shared.catalog import CATALOG
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page
from shared.problems import NotFound, invalid
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["module orgs"])
MAX_COMPANIES = 100


class Suggestion(ApiModel):
    company_id: str
    """The suggested company."""
    name: str
    """Its name."""
    score: float
    """How well it matches the org, 0 to 1; the list is ranked by it."""
    evidence: str | None = None
    """The name of an org already mapped to the company that matched, if not its own name."""

    @classmethod
    def of(cls, s: matching.Suggestion) -> Suggestion:
        return cls(company_id=s.company_id, name=s.name, score=s.score, evidence=s.evidence)


class ModuleOrgOut(ApiModel):
    module: str
    """The catalog id of the module reporting the org."""
    org_id: str
    """The module's id of the org."""
    org_name: str
    """The org's latest name in the module's usage."""
    status: MappingStatus
    """`unmapped` (its usage waits), `mapped` (to ``company_id``) or `excluded` (its usage
    is never billed)."""
    company_id: str | None
    """The company the org is mapped to; null unless mapped."""
    first_seen: date
    """The first day of usage seen for the org."""
    last_seen: date
    """The latest day of usage seen for the org."""
    suggestions: list[Suggestion] = Field(default_factory=list)
    """Unmapped orgs: the companies most likely meant, best first."""

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


@router.get("/module-orgs", response_model=Page[ModuleOrgOut], summary="List module orgs")
async def list_module_orgs(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=64)] = None,
    status: MappingStatus | None = None,
    q: Annotated[str | None, Query(max_length=300)] = None,
    company_id: Annotated[list[str] | None, Query(max_length=MAX_COMPANIES)] = None,
) -> Page[ModuleOrgOut]:
    """The orgs seen in usage; ``module``, ``status``, ``q`` (part of the org's name) and
    ``company_id`` (repeated for up to 100 companies: the orgs mapped to one of them) narrow
    the list. Unmapped orgs carry their ranked company suggestions (score 0 to 1)."""
    companies = [c for c in company_id or () if c]
    if any(len(c) > 36 for c in companies):
        raise invalid(["query", "company_id"], "a company id has at most 36 characters")
    async with runtime.sessions() as session:
        page = await matching_service.module_orgs(
            session, ctx.tenant_id, paging, module, status, q, companies
        )
    return _page(page)


@router.get(
    "/companies/{company_id}/module-orgs",
    response_model=Page[ModuleOrgOut],
    summary="List the module orgs mapped to a company",
)
async def company_module_orgs(
    company_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[ModuleOrgOut]:
    """Every org, of any module, whose usage is billed to the company."""
    async with runtime.sessions() as session:
        page = await matching_service.company_module_orgs(
            session, ctx.tenant_id, company_id, paging
        )
    return _page(page)


class OrgMappingIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=examples(
            {"company_id": "0b7c6f0e-3d2a-4f4e-9a51-2f0f3c1d9e11"}, {"excluded": True}
        ),
    )
    company_id: str | None = None
    """The company the org's usage is billed to."""
    excluded: bool = False
    """True: the org's usage is never billed (an internal or test org). Give either this or
    ``company_id``."""

    @model_validator(mode="after")
    def _one_target(self) -> OrgMappingIn:
        if (self.company_id is None) == (not self.excluded):
            raise ValueError("give either company_id or excluded: true")
        return self


class OrgMappingOut(ApiModel):
    module: str
    """The catalog id of the org's module."""
    org_id: str
    """The module's id of the org."""
    company_id: str | None
    """The company the org is mapped to; null when excluded."""
    excluded: bool
    """Whether the org's usage is never billed."""
    updated_at: UtcDateTime
    """When the mapping was saved."""
    reresolved: int
    """The org's usage records, re-resolved with the new mapping."""
    queued: bool = False
    """Whether the ``reresolved`` records were still being re-resolved in the background
    when the answer was sent, rather than done already."""


def _check_module(module: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")


@router.put(
    "/module-orgs/{module}/{org_id}/mapping",
    response_model=OrgMappingOut,
    summary="Map an org to a company, or exclude it",
)
async def put_org_mapping(
    module: str, org_id: str, body: OrgMappingIn, ctx: Caller, runtime: Runtime
) -> OrgMappingOut:
    """Maps the org (or excludes it) and re-resolves all of its usage not in a posted period;
    a posted period's change shows as a correction at the next billing run. An unknown
    ``company_id`` is refused (422)."""
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


@router.delete(
    "/module-orgs/{module}/{org_id}/mapping", status_code=204, summary="Remove an org's mapping"
)
async def delete_org_mapping(module: str, org_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """The org's usage becomes unbilled again."""
    _check_module(module)
    await resolution.map_org(
        resolution.MappingWork.of(runtime), ctx.tenant_id, ctx.key_id, module, org_id, None
    )
    return Response(status_code=204)
