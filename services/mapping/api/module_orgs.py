"""Module orgs discovered from usage, their suggested companies, and their mapping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.api.deps import Caller, Paging, Runtime, company_or_404
from services.mapping.matching import scoring as matching
from services.mapping.matching.candidates import load_matcher
from services.mapping.models import ModuleOrgRow, OrgMappingRow
from services.mapping.resolution import reresolution
from services.mapping.resolution.module_orgs import (
    ORG_ORDER,
    Status,
    org_query,
    status_of,
    with_status,
)
from services.mapping.resolution.org_mappings import OrgChange, change_org_mappings
from services.mapping.resolution.rules import OrgTarget
from shared.catalog import CATALOG
from shared.pagination import Page, paginate
from shared.problems import NotFound, invalid

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
    status: Status
    company_id: str | None
    first_seen: date
    last_seen: date
    suggestions: list[Suggestion] = []


def _org_out(org: ModuleOrgRow, mapping: OrgMappingRow | None) -> ModuleOrgOut:
    return ModuleOrgOut(
        module=org.module,
        org_id=org.org_id,
        org_name=org.org_name,
        status=status_of(mapping),
        company_id=mapping.company_id if mapping else None,
        first_seen=org.first_seen,
        last_seen=org.last_seen,
    )


async def _with_suggestions(
    session: AsyncSession, tenant_id: str, orgs: Sequence[ModuleOrgOut]
) -> None:
    waiting = [o for o in orgs if o.status == "unmapped"]
    if not waiting:
        return
    matcher = await load_matcher(session, tenant_id)
    for org in waiting:
        org.suggestions = [Suggestion.of(s) for s in matcher.rank(org.org_name)]


@router.get("/module-orgs", response_model=Page[ModuleOrgOut])
async def list_module_orgs(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(max_length=300)] = None,
) -> Page[ModuleOrgOut]:
    """Unmapped orgs carry their ranked company suggestions (score 0 to 1)."""
    query = org_query(ctx.tenant_id)
    if module:
        query = query.where(ModuleOrgRow.module == module)
    if q:
        query = query.where(func.lower(ModuleOrgRow.org_name).contains(q.lower(), autoescape=True))
    if status is not None:
        query = with_status(query, status)
    async with runtime.sessions() as session:
        page = await paginate(
            session,
            query,
            ORG_ORDER,
            paging,
            lambda r: _org_out(r[0], r[1]),
            lambda r: (r[0].module, r[0].org_id),
        )
        await _with_suggestions(session, ctx.tenant_id, page.items)
    return page


@router.get("/companies/{company_id}/module-orgs", response_model=Page[ModuleOrgOut])
async def company_module_orgs(
    company_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[ModuleOrgOut]:
    async with runtime.sessions() as session:
        await company_or_404(session, ctx.tenant_id, company_id)
        query = org_query(ctx.tenant_id).where(OrgMappingRow.company_id == company_id)
        return await paginate(
            session,
            query,
            ORG_ORDER,
            paging,
            lambda r: _org_out(r[0], r[1]),
            lambda r: (r[0].module, r[0].org_id),
        )


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
    updated_at: datetime
    reresolved: int
    queued: bool = False
    """Whether the ``reresolved`` records are re-resolved in the background (an org with
    more usage than one request should handle) rather than already."""


def _check_module(module: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")


@router.put("/module-orgs/{module}/{org_id}/mapping", response_model=OrgMappingOut)
async def put_org_mapping(
    module: str, org_id: str, body: OrgMappingIn, ctx: Caller, runtime: Runtime
) -> OrgMappingOut:
    """Maps the org (or excludes it) and re-resolves all of its usage."""
    _check_module(module)
    async with runtime.transaction() as session:
        if body.company_id is not None:
            try:
                await company_or_404(session, ctx.tenant_id, body.company_id)
            except NotFound as exc:
                raise invalid(["body", "company_id"], f"no company {body.company_id}") from exc
        target = OrgTarget(body.company_id, body.excluded)
        [done] = await change_org_mappings(
            runtime,
            session,
            ctx.tenant_id,
            ctx.key_id,
            [OrgChange(module, org_id, target)],
            "org_mapping.put",
        )
    if done.queued:
        reresolution.wake(runtime)
    return OrgMappingOut(
        module=module,
        org_id=org_id,
        company_id=body.company_id,
        excluded=body.excluded,
        updated_at=done.updated_at,
        reresolved=done.reresolved,
        queued=done.queued,
    )


@router.delete("/module-orgs/{module}/{org_id}/mapping", status_code=204)
async def delete_org_mapping(module: str, org_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """The org's usage becomes unbilled again."""
    _check_module(module)
    async with runtime.transaction() as session:
        [done] = await change_org_mappings(
            runtime,
            session,
            ctx.tenant_id,
            ctx.key_id,
            [OrgChange(module, org_id, None)],
            "org_mapping.delete",
        )
    if done.queued:
        reresolution.wake(runtime)
    return Response(status_code=204)
