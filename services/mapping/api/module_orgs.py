"""Module orgs discovered from usage, and their mapping to companies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.api.deps import Caller, Paging, Runtime, company_or_404
from services.mapping.consumer import publish_resolved
from services.mapping.models import ModuleOrgRow, OrgMappingRow
from services.mapping.usage import of_org, reresolve
from shared.catalog import CATALOG
from shared.events import MappingChanged
from shared.pagination import Page, paginate
from shared.problems import NotFound, invalid

router = APIRouter(prefix="/v1", tags=["module orgs"])
Status = Literal["unmapped", "mapped", "excluded"]


class Suggestion(BaseModel):
    company_id: str
    name: str
    score: float


class ModuleOrgOut(BaseModel):
    module: str
    org_id: str
    org_name: str
    status: Status
    company_id: str | None
    first_seen: date
    last_seen: date
    suggestions: list[Suggestion] = []


def _status(mapping: OrgMappingRow | None) -> Status:
    if mapping is None or (mapping.company_id is None and not mapping.excluded):
        return "unmapped"
    return "excluded" if mapping.excluded else "mapped"


def _org_query(tenant_id: str) -> Select[tuple[ModuleOrgRow, OrgMappingRow]]:
    return select(ModuleOrgRow, OrgMappingRow).outerjoin(
        OrgMappingRow,
        and_(
            OrgMappingRow.tenant_id == ModuleOrgRow.tenant_id,
            OrgMappingRow.module == ModuleOrgRow.module,
            OrgMappingRow.org_id == ModuleOrgRow.org_id,
        ),
    ).where(ModuleOrgRow.tenant_id == tenant_id)


def _org_out(org: ModuleOrgRow, mapping: OrgMappingRow | None) -> ModuleOrgOut:
    return ModuleOrgOut(
        module=org.module, org_id=org.org_id, org_name=org.org_name, status=_status(mapping),
        company_id=mapping.company_id if mapping else None,
        first_seen=org.first_seen, last_seen=org.last_seen,
    )


@router.get("/module-orgs", response_model=Page[ModuleOrgOut])
async def list_module_orgs(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(max_length=300)] = None,
) -> Page[ModuleOrgOut]:
    query = _org_query(ctx.tenant_id)
    if module:
        query = query.where(ModuleOrgRow.module == module)
    if q:
        query = query.where(func.lower(ModuleOrgRow.org_name).contains(q.lower()))
    if status == "unmapped":
        query = query.where(
            (OrgMappingRow.org_id.is_(None))
            | (OrgMappingRow.company_id.is_(None) & ~OrgMappingRow.excluded)
        )
    elif status == "mapped":
        query = query.where(OrgMappingRow.company_id.is_not(None), ~OrgMappingRow.excluded)
    elif status == "excluded":
        query = query.where(OrgMappingRow.excluded)
    async with runtime.sessions() as session:
        return await paginate(
            session, query, [ModuleOrgRow.module, ModuleOrgRow.org_id], paging,
            lambda r: _org_out(r[0], r[1]), lambda r: (r[0].module, r[0].org_id),
        )


@router.get("/companies/{company_id}/module-orgs", response_model=Page[ModuleOrgOut])
async def company_module_orgs(
    company_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[ModuleOrgOut]:
    async with runtime.sessions() as session:
        await company_or_404(session, ctx.tenant_id, company_id)
        query = _org_query(ctx.tenant_id).where(OrgMappingRow.company_id == company_id)
        return await paginate(
            session, query, [ModuleOrgRow.module, ModuleOrgRow.org_id], paging,
            lambda r: _org_out(r[0], r[1]), lambda r: (r[0].module, r[0].org_id),
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


def _check_module(module: str) -> None:
    if CATALOG.module(module) is None:
        raise NotFound(f"Unknown module {module!r}.")


async def _apply(
    runtime: Runtime, session: AsyncSession, tenant_id: str, event: MappingChanged
) -> int:
    resolved = await reresolve(session, tenant_id, of_org(event.module, event.org_id or ""))
    await publish_resolved(runtime, session, tenant_id, resolved)
    await runtime.outbox.add(
        session, tenant_id, event.model_copy(update={"reresolved": len(resolved)})
    )
    return len(resolved)


@router.put("/module-orgs/{module}/{org_id}/mapping", response_model=OrgMappingOut)
async def put_org_mapping(
    module: str, org_id: str, body: OrgMappingIn, ctx: Caller, runtime: Runtime
) -> OrgMappingOut:
    """Maps the org (or excludes it) and re-resolves all of its usage."""
    _check_module(module)
    now = datetime.now(UTC)
    async with runtime.transaction() as session:
        if body.company_id is not None:
            try:
                await company_or_404(session, ctx.tenant_id, body.company_id)
            except NotFound as exc:
                raise invalid(["body", "company_id"], f"no company {body.company_id}") from exc
        row = await session.get(OrgMappingRow, (ctx.tenant_id, module, org_id))
        if row is None:
            row = OrgMappingRow(tenant_id=ctx.tenant_id, module=module, org_id=org_id,
                                excluded=False)
            session.add(row)
        row.company_id, row.excluded = body.company_id, body.excluded
        row.updated_at, row.updated_by = now, ctx.key_id
        await session.flush()
        count = await _apply(runtime, session, ctx.tenant_id, MappingChanged(
            kind="org", module=module, org_id=org_id, company_id=body.company_id,
            excluded=body.excluded, actor=ctx.key_id,
        ))
    return OrgMappingOut(module=module, org_id=org_id, company_id=body.company_id,
                         excluded=body.excluded, updated_at=now, reresolved=count)


@router.delete("/module-orgs/{module}/{org_id}/mapping", status_code=204)
async def delete_org_mapping(module: str, org_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """The org's usage becomes unbilled again."""
    _check_module(module)
    async with runtime.transaction() as session:
        row = await session.get(OrgMappingRow, (ctx.tenant_id, module, org_id))
        if row is None:
            raise NotFound(f"No mapping for {module}/{org_id}.")
        await session.delete(row)
        await session.flush()
        await _apply(runtime, session, ctx.tenant_id, MappingChanged(
            kind="org", module=module, org_id=org_id, actor=ctx.key_id,
        ))
    return Response(status_code=204)
