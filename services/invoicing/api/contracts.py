"""Recurring service contracts: the priced services a company's usage is billed against."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.billing import Pricing, Tier, pricing_errors
from services.invoicing.contracts.companies import ensure_company
from services.invoicing.contracts.terms import service_pricing
from services.invoicing.models import ContractRow, ContractServiceRow
from shared.events import ContractChanged
from shared.money import UnknownCurrency, minor_units
from shared.pagination import Page, paginate
from shared.problems import NotFound, ValidationFailed
from shared.runtime import EventRuntime

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

ServiceCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
    ),
]
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=6)]
Units = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=20, decimal_places=4)]
CountingBasis = Literal["daily", "monthly_peak", "monthly_last"]
Model = Literal["per_unit", "graduated", "volume"]


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: Units | None
    unit_price: Amount


class PricingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Model = "per_unit"
    tiers: list[TierIn] | None = None


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    service_code: ServiceCode
    name: str = Field(min_length=1, max_length=300)
    unit_price: Amount | None = None
    counting_basis: CountingBasis = "daily"
    pricing: PricingIn = PricingIn()
    minimum_units: Units = Decimal(0)


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    company_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=300)
    start_date: date
    end_date: date | None = None
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
    services: list[ServiceIn] = Field(min_length=1, max_length=200)

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class ContractPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=300)
    start_date: date | None = None
    end_date: date | None = None
    services: list[ServiceIn] | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _not_null(self) -> ContractPatch:
        for name in ("name", "start_date", "services"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TierOut(BaseModel):
    up_to: Decimal | None
    unit_price: Decimal


class PricingOut(BaseModel):
    model: Model
    tiers: list[TierOut]


class ServiceOut(BaseModel):
    id: str
    service_code: str
    name: str
    unit_price: Decimal
    counting_basis: CountingBasis
    pricing: PricingOut
    minimum_units: Decimal


class ContractOut(BaseModel):
    id: str
    company_id: str
    name: str
    start_date: date
    end_date: date | None
    currency: str
    services: list[ServiceOut]
    created_at: datetime
    updated_at: datetime


def contract_out(row: ContractRow) -> ContractOut:
    return ContractOut(
        id=row.id,
        company_id=row.company_id,
        name=row.name,
        start_date=row.start_date,
        end_date=row.end_date,
        currency=row.currency,
        created_at=row.created_at,
        updated_at=row.updated_at,
        services=[
            ServiceOut(
                id=s.id,
                service_code=s.service_code,
                name=s.name,
                unit_price=s.unit_price,
                counting_basis=s.counting_basis,
                pricing=PricingOut(
                    model=s.pricing_model,
                    tiers=[
                        TierOut(up_to=t.up_to, unit_price=t.unit_price)
                        for t in service_pricing(s).tiers
                    ],
                ),
                minimum_units=s.minimum_units,
            )
            for s in row.services
        ],
    )


def _service_rows(services: list[ServiceIn]) -> list[ContractServiceRow]:
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    rows = []
    for i, s in enumerate(services):
        loc: list[str | int] = ["body", "services", i]
        if s.service_code in seen:
            errors.append({"loc": [*loc, "service_code"], "msg": "appears twice in the contract"})
        seen.add(s.service_code)
        if s.pricing.model == "per_unit" and s.unit_price is None:
            errors.append({"loc": [*loc, "unit_price"], "msg": "required for per_unit pricing"})
        tiers = tuple(Tier(t.up_to, t.unit_price) for t in s.pricing.tiers or ())
        pricing = Pricing(s.pricing.model, s.unit_price or Decimal(0), tiers)
        errors.extend(
            {"loc": _pricing_loc(loc, where), "msg": msg} for where, msg in pricing_errors(pricing)
        )
        rows.append(
            ContractServiceRow(
                id=str(uuid.uuid4()),
                position=i,
                service_code=s.service_code,
                name=s.name,
                unit_price=pricing.unit_price,
                counting_basis=s.counting_basis,
                pricing_model=s.pricing.model,
                tiers=json.dumps(
                    [
                        {
                            "up_to": None if t.up_to is None else str(t.up_to),
                            "unit_price": str(t.unit_price),
                        }
                        for t in tiers
                    ]
                ),
                minimum_units=s.minimum_units,
            )
        )
    if errors:
        raise ValidationFailed(
            "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5]),
            errors=errors,
        )
    return rows


def _pricing_loc(service: list[str | int], where: str) -> list[str | int]:
    """``tiers.1.up_to`` of the pricing as a request location; the price is the service's."""
    parts = [int(part) if part.isdigit() else part for part in where.split(".")]
    return [*service, *parts] if parts[0] == "unit_price" else [*service, "pricing", *parts]


def _check_dates(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed(
            "end_date is before start_date.",
            errors=[{"loc": ["body", "end_date"], "msg": "must not be before start_date"}],
        )


def _check_currency(code: str) -> None:
    try:
        minor_units(code)
    except UnknownCurrency as exc:
        raise ValidationFailed(
            f"Unknown currency {code!r}.",
            errors=[{"loc": ["body", "currency"], "msg": "not an ISO 4217 currency code"}],
        ) from exc


async def _load(
    session: AsyncSession, tenant_id: str, contract_id: str, for_update: bool = False
) -> ContractRow:
    query = (
        select(ContractRow)
        .options(selectinload(ContractRow.services))
        .where(ContractRow.id == contract_id, ContractRow.tenant_id == tenant_id)
    )
    row = await session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(f"No contract {contract_id}.")
    return row


async def _publish_changed(
    runtime: EventRuntime, session: AsyncSession, tenant_id: str, row: ContractRow
) -> None:
    """``contract.changed`` in the transaction of the write (mapping keeps a replica)."""
    await runtime.outbox.add(
        session,
        tenant_id,
        ContractChanged(
            contract_id=row.id,
            company_id=row.company_id,
            start_date=row.start_date,
            end_date=row.end_date,
            service_codes=tuple(s.service_code for s in row.services),
            updated_at=row.updated_at,
        ),
    )


@router.post("", status_code=201, response_model=ContractOut)
async def create_contract(body: ContractIn, ctx: Caller, runtime: Runtime) -> ContractOut:
    _check_currency(body.currency)
    _check_dates(body.start_date, body.end_date)
    services = _service_rows(body.services)
    now = datetime.now(UTC)
    contract_id = str(uuid.uuid4())
    async with runtime.transaction() as session:
        await ensure_company(runtime, session, ctx, body.company_id)
        row = ContractRow(
            id=contract_id,
            tenant_id=ctx.tenant_id,
            company_id=body.company_id,
            name=body.name,
            start_date=body.start_date,
            end_date=body.end_date,
            currency=body.currency,
            created_at=now,
            updated_at=now,
            services=services,
        )
        session.add(row)
        await _publish_changed(runtime, session, ctx.tenant_id, row)
    async with runtime.sessions() as session:
        return contract_out(await _load(session, ctx.tenant_id, contract_id))


@router.get("", response_model=Page[ContractOut])
async def list_contracts(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[ContractOut]:
    query = (
        select(ContractRow)
        .options(selectinload(ContractRow.services))
        .where(ContractRow.tenant_id == ctx.tenant_id)
    )
    if company_id:
        query = query.where(ContractRow.company_id == company_id)
    async with runtime.sessions() as session:
        return await paginate(
            session,
            query,
            [ContractRow.id.expression],
            paging,
            lambda r: contract_out(r[0]),
            lambda r: (r[0].id,),
        )


@router.get("/{contract_id}", response_model=ContractOut)
async def get_contract(contract_id: str, ctx: Caller, runtime: Runtime) -> ContractOut:
    async with runtime.sessions() as session:
        return contract_out(await _load(session, ctx.tenant_id, contract_id))


@router.patch("/{contract_id}", response_model=ContractOut)
async def patch_contract(
    contract_id: str, body: ContractPatch, ctx: Caller, runtime: Runtime
) -> ContractOut:
    """Changes apply to drafts at the next billing run; posted invoices get corrections."""
    async with runtime.transaction() as session:
        # Locked: concurrent changes of one contract commit in the order of their
        # ``updated_at``, which replicas of ``contract.changed`` rely on.
        row = await _load(session, ctx.tenant_id, contract_id, for_update=True)
        fields = body.model_fields_set
        start = body.start_date if "start_date" in fields and body.start_date else row.start_date
        end = body.end_date if "end_date" in fields else row.end_date
        _check_dates(start, end)
        if body.name is not None:
            row.name = body.name
        row.start_date, row.end_date = start, end
        if body.services is not None:
            row.services = _service_rows(body.services)
        row.updated_at = datetime.now(UTC)
        await _publish_changed(runtime, session, ctx.tenant_id, row)
    async with runtime.sessions() as session:
        return contract_out(await _load(session, ctx.tenant_id, contract_id))
