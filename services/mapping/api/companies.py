"""Companies: the MSP's customers, who receive the invoices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.mapping.api.deps import Caller, Paging, Runtime, company_or_404
from services.mapping.models import CompanyRow
from shared.events import CompanyChanged, CompanyData
from shared.money import UnknownCurrency, minor_units
from shared.pagination import Page, paginate
from shared.problems import Conflict

router = APIRouter(prefix="/v1/companies", tags=["companies"])

TaxRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=6)]


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        minor_units(value)
    except UnknownCurrency as exc:
        raise ValueError(f"unknown ISO 4217 currency {value!r}") from exc
    return value


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=300)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    tax_rate: TaxRate = Decimal(0)
    currency: str | None = None

    _check_currency = field_validator("currency")(_currency)


class CompanyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=300)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    tax_rate: TaxRate | None = None
    currency: str | None = None

    _check_currency = field_validator("currency")(_currency)


class CompanyOut(BaseModel):
    id: str
    name: str
    external_ref: str | None
    tax_rate: Decimal
    currency: str | None
    created_at: datetime
    updated_at: datetime


def _aware(value: datetime) -> datetime:
    """SQLite (embedded mode) hands times back without their zone; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def company_out(row: CompanyRow) -> CompanyOut:
    return CompanyOut(
        id=row.id,
        name=row.name,
        external_ref=row.external_ref,
        tax_rate=row.tax_rate,
        currency=row.currency,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def company_changed(row: CompanyRow) -> CompanyChanged:
    return CompanyChanged(
        company=CompanyData(
            id=row.id,
            name=row.name,
            external_ref=row.external_ref,
            tax_rate=row.tax_rate,
            currency=row.currency,
        )
    )


def _duplicate_ref(ref: str | None) -> Conflict:
    return Conflict(f"Another company already has external_ref {ref!r}.")


@router.post("", status_code=201, response_model=CompanyOut)
async def create_company(body: CompanyIn, ctx: Caller, runtime: Runtime) -> CompanyOut:
    now = datetime.now(UTC)
    row = CompanyRow(
        id=str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        name=body.name,
        external_ref=body.external_ref,
        tax_rate=body.tax_rate,
        currency=body.currency,
        created_at=now,
        updated_at=now,
    )
    try:
        async with runtime.transaction() as session:
            session.add(row)
            await session.flush()
            await runtime.outbox.add(session, ctx.tenant_id, company_changed(row))
    except IntegrityError as exc:
        raise _duplicate_ref(body.external_ref) from exc
    return company_out(row)


@router.get("", response_model=Page[CompanyOut])
async def list_companies(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=300)] = None,
    external_ref: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[CompanyOut]:
    query = select(CompanyRow).where(CompanyRow.tenant_id == ctx.tenant_id)
    if q:
        query = query.where(func.lower(CompanyRow.name).contains(q.lower(), autoescape=True))
    if external_ref:
        query = query.where(CompanyRow.external_ref == external_ref)
    async with runtime.sessions() as session:
        return await paginate(
            session,
            query,
            [CompanyRow.name.expression, CompanyRow.id.expression],
            paging,
            lambda r: company_out(r[0]),
            lambda r: (r[0].name, r[0].id),
        )


@router.get("/{company_id}", response_model=CompanyOut)
async def get_company(company_id: str, ctx: Caller, runtime: Runtime) -> CompanyOut:
    async with runtime.sessions() as session:
        return company_out(await company_or_404(session, ctx.tenant_id, company_id))


@router.patch("/{company_id}", response_model=CompanyOut)
async def patch_company(
    company_id: str, body: CompanyPatch, ctx: Caller, runtime: Runtime
) -> CompanyOut:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        changes.pop("name")
    if "tax_rate" in changes and changes["tax_rate"] is None:
        changes.pop("tax_rate")
    try:
        async with runtime.transaction() as session:
            row = await company_or_404(session, ctx.tenant_id, company_id)
            for field, value in changes.items():
                setattr(row, field, value)
            row.updated_at = datetime.now(UTC)
            await session.flush()
            await runtime.outbox.add(session, ctx.tenant_id, company_changed(row))
    except IntegrityError as exc:
        raise _duplicate_ref(changes.get("external_ref")) from exc
    return company_out(row)
