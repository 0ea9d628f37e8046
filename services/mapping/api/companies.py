"""Companies: the MSP's customers, who receive the invoices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.companies import service
from services.mapping.companies.schemas import CompanyIn, CompanyPatch
from services.mapping.models import CompanyRow
from shared.pagination import Page
from shared.wire import Rate, UtcDateTime

router = APIRouter(prefix="/v1/companies", tags=["companies"])


class CompanyOut(BaseModel):
    id: str
    name: str
    external_ref: str | None
    tax_rate: Rate
    currency: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


def company_out(row: CompanyRow) -> CompanyOut:
    return CompanyOut(
        id=row.id,
        name=row.name,
        external_ref=row.external_ref,
        tax_rate=row.tax_rate,
        currency=row.currency,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("", status_code=201, response_model=CompanyOut)
async def create_company(body: CompanyIn, ctx: Caller, runtime: Runtime) -> CompanyOut:
    async with runtime.transaction() as session:
        row = await service.create_company(
            session, runtime.outbox, ctx.tenant_id, body, datetime.now(UTC)
        )
    return company_out(row)


@router.get("", response_model=Page[CompanyOut])
async def list_companies(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=300)] = None,
    external_ref: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[CompanyOut]:
    async with runtime.sessions() as session:
        page = await service.list_companies(session, ctx.tenant_id, paging, q, external_ref)
    return Page(items=[company_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{company_id}", response_model=CompanyOut)
async def get_company(company_id: str, ctx: Caller, runtime: Runtime) -> CompanyOut:
    async with runtime.sessions() as session:
        return company_out(await service.company_of(session, ctx.tenant_id, company_id))


@router.patch("/{company_id}", response_model=CompanyOut)
async def patch_company(
    company_id: str, body: CompanyPatch, ctx: Caller, runtime: Runtime
) -> CompanyOut:
    async with runtime.transaction() as session:
        row = await service.change_company(
            session, runtime.outbox, ctx.tenant_id, company_id, body.changes(), datetime.now(UTC)
        )
    return company_out(row)
