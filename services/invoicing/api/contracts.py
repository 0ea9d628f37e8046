"""Recurring service contracts: the priced services a company's usage is billed against."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.billing import CountingBasis, PricingModel, Tier
from services.invoicing.contracts import service as contracts
from services.invoicing.contracts.service import ContractChanges, NewContract, ServiceSpec
from services.invoicing.contracts.terms import service_pricing
from services.invoicing.documents.formatting import price
from services.invoicing.models import ContractRow
from shared.changes import changed
from shared.pagination import Page
from shared.wire import Quantity, UtcDateTime

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


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: Units | None
    unit_price: Amount


class PricingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: PricingModel = "per_unit"
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
    up_to: Quantity | None
    unit_price: Decimal


class PricingOut(BaseModel):
    model: PricingModel
    tiers: list[TierOut]


class ServiceOut(BaseModel):
    id: str
    service_code: str
    name: str
    unit_price: Decimal = Field(
        description="Without trailing zeros, never fewer digits than the currency's, "
        "as invoice lines show unit prices."
    )
    counting_basis: CountingBasis
    pricing: PricingOut
    minimum_units: Quantity


class ContractOut(BaseModel):
    id: str
    company_id: str
    name: str
    start_date: date
    end_date: date | None
    currency: str
    services: list[ServiceOut]
    created_at: UtcDateTime
    updated_at: UtcDateTime


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
                unit_price=price(s.unit_price, row.currency),
                counting_basis=s.counting_basis,
                pricing=PricingOut(
                    model=s.pricing_model,
                    tiers=[
                        TierOut(up_to=t.up_to, unit_price=price(t.unit_price, row.currency))
                        for t in service_pricing(s).tiers
                    ],
                ),
                minimum_units=s.minimum_units,
            )
            for s in row.services
        ],
    )


def service_specs(services: list[ServiceIn]) -> tuple[ServiceSpec, ...]:
    return tuple(
        ServiceSpec(
            service_code=s.service_code,
            name=s.name,
            unit_price=s.unit_price,
            counting_basis=s.counting_basis,
            pricing_model=s.pricing.model,
            tiers=tuple(Tier(t.up_to, t.unit_price) for t in s.pricing.tiers or ()),
            minimum_units=s.minimum_units,
        )
        for s in services
    )


@router.post("", status_code=201, response_model=ContractOut)
async def create_contract(body: ContractIn, ctx: Caller, runtime: Runtime) -> ContractOut:
    new = NewContract(
        company_id=body.company_id,
        name=body.name,
        start_date=body.start_date,
        end_date=body.end_date,
        currency=body.currency,
        services=service_specs(body.services),
    )
    async with runtime.transaction() as session:
        row = await contracts.create_contract(session, runtime.outbox, runtime.mapping, ctx, new)
    out = contract_out(row)
    changed("contracts", out.id, "contract.create", None, out)
    return out


@router.get("", response_model=Page[ContractOut])
async def list_contracts(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[ContractOut]:
    async with runtime.sessions() as session:
        page = await contracts.list_contracts(session, ctx.tenant_id, company_id, paging)
    return Page(items=[contract_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{contract_id}", response_model=ContractOut)
async def get_contract(contract_id: str, ctx: Caller, runtime: Runtime) -> ContractOut:
    async with runtime.sessions() as session:
        return contract_out(await contracts.get_contract(session, ctx.tenant_id, contract_id))


@router.patch("/{contract_id}", response_model=ContractOut)
async def patch_contract(
    contract_id: str, body: ContractPatch, ctx: Caller, runtime: Runtime
) -> ContractOut:
    """Changes apply to drafts at the next billing run; posted invoices get corrections."""
    fields = body.model_fields_set
    changes = ContractChanges(
        name=body.name,
        start_date=body.start_date if "start_date" in fields else None,
        end_date=body.end_date,
        sets_end_date="end_date" in fields,
        services=None if body.services is None else service_specs(body.services),
    )
    async with runtime.transaction() as session:
        before = contract_out(await contracts.get_contract(session, ctx.tenant_id, contract_id))
        row = await contracts.change_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, changes
        )
    out = contract_out(row)
    changed("contracts", contract_id, "contract.update", before, out)
    return out
