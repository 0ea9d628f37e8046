"""Companies: the MSP's customers, who receive the invoices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.companies import service
from services.mapping.companies.schemas import CompanyIn, CompanyPatch
from services.mapping.models import CompanyRow
from shared.openapi_docs import ApiModel
from shared.pagination import Page
from shared.problems import invalid
from shared.wire import Rate, UtcDateTime

router = APIRouter(prefix="/v1/companies", tags=["companies"])
MAX_IDS = 100


class CompanyOut(ApiModel):
    id: str
    """The company's id, given by the server."""
    name: str
    """The company's name, as invoices show it."""
    external_ref: str | None
    """The company's id in the MSP's other systems (PSA, accounting); unique per tenant."""
    tax_rate: Rate
    """The tax rate of its invoices, a fraction ("0.19" for 19 %)."""
    currency: str | None
    """The ISO 4217 currency it is invoiced in, if fixed; contracts carry their own."""
    created_at: UtcDateTime
    """When the company was created."""
    updated_at: UtcDateTime
    """When it was last changed."""


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


@router.post("", status_code=201, response_model=CompanyOut, summary="Create a company")
async def create_company(body: CompanyIn, ctx: Caller, runtime: Runtime) -> CompanyOut:
    """A new customer of the MSP, to map module orgs to and bill; invoicing learns of it by
    its ``company.changed`` event. An ``external_ref`` already taken is refused (409)."""
    async with runtime.transaction() as session:
        row = await service.create_company(
            session, runtime.outbox, ctx.tenant_id, body, datetime.now(UTC)
        )
    return company_out(row)


@router.get("", response_model=Page[CompanyOut], summary="List companies")
async def list_companies(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=300)] = None,
    external_ref: Annotated[str | None, Query(max_length=100)] = None,
    ids: Annotated[list[str] | None, Query(alias="id", max_length=MAX_IDS)] = None,
) -> Page[CompanyOut]:
    """The tenant's companies by name; ``q`` finds names containing it (case-insensitive),
    ``external_ref`` the company with that reference, ``id`` (repeated, up to 100) the
    companies with those ids."""
    wanted = [i for i in ids or () if i]
    if any(len(i) > 36 for i in wanted):
        raise invalid(["query", "id"], "a company id has at most 36 characters")
    async with runtime.sessions() as session:
        page = await service.list_companies(session, ctx.tenant_id, paging, q, external_ref, wanted)
    return Page(items=[company_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{company_id}", response_model=CompanyOut, summary="Show a company")
async def get_company(company_id: str, ctx: Caller, runtime: Runtime) -> CompanyOut:
    """One company of the tenant."""
    async with runtime.sessions() as session:
        return company_out(await service.company_of(session, ctx.tenant_id, company_id))


@router.patch("/{company_id}", response_model=CompanyOut, summary="Change a company")
async def patch_company(
    company_id: str, body: CompanyPatch, ctx: Caller, runtime: Runtime
) -> CompanyOut:
    """Changes the fields sent; a null ``external_ref`` or ``currency`` clears it, a null
    ``name`` or ``tax_rate`` is ignored. Drafts show the change at the next billing run;
    posted invoices keep the company as it was."""
    async with runtime.transaction() as session:
        row = await service.change_company(
            session, runtime.outbox, ctx.tenant_id, company_id, body.changes(), datetime.now(UTC)
        )
    return company_out(row)
