"""Recurring service contracts: the priced services a company's usage is billed against."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import (
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
from shared.openapi_docs import ApiModel, examples
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


UP_TO = "The tier's last unit (inclusive); null for the last tier, which has no bound."
PRICING_MODEL = (
    "`per_unit` (quantity times `unit_price`), `graduated` (each tier's units at that tier's "
    "price) or `volume` (every unit at the price of the tier the quantity falls in)."
)
COUNTING_BASIS = (
    "How a month's daily quantities become the billed one: `daily` (the days' average, "
    "prorated), `monthly_peak` (the highest day) or `monthly_last` (the last active day); "
    "the last two are prorated by the contract's active days."
)
# No tiers: FastAPI leaves every null out of the document, an unbounded tier's too.
CONTRACT_EXAMPLE = {
    "company_id": "0b7c6f0e-3d2a-4f4e-9a51-2f0f3c1d9e11",
    "name": "Managed services 2026",
    "start_date": "2026-01-01",
    "currency": "EUR",
    "services": [
        {"service_code": "RMM-DEVICE", "name": "RMM per device", "unit_price": "3.50"},
        {
            "service_code": "BACKUP-TB",
            "name": "Cloud backup per TB",
            "unit_price": "40.00",
            "counting_basis": "monthly_peak",
            "minimum_units": "1",
        },
    ],
}


class TierIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    up_to: Units | None = Field(description=UP_TO)
    unit_price: Amount
    """The price of a unit in this tier, a decimal string in the contract's currency."""


class PricingIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    model: PricingModel = Field(default="per_unit", description=PRICING_MODEL)
    tiers: list[TierIn] | None = None
    """`graduated` and `volume`: the tiers in ascending ``up_to``, the last unbounded."""


class ServiceIn(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    service_code: ServiceCode
    """The code service mappings feed usage to; unique within the contract."""
    name: str = Field(min_length=1, max_length=300)
    """The service's name, as invoice lines describe it."""
    unit_price: Amount | None = None
    """`per_unit`: the price of a unit, a decimal string in the contract's currency."""
    counting_basis: CountingBasis = Field(default="daily", description=COUNTING_BASIS)
    pricing: PricingIn = PricingIn()
    """How the billed quantity is priced; default: `per_unit` at ``unit_price``."""
    minimum_units: Units = Decimal(0)
    """Each day counts at least this many units."""


class ContractIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=examples(CONTRACT_EXAMPLE)
    )
    company_id: str = Field(min_length=1, max_length=36)
    """The company billed."""
    name: str = Field(min_length=1, max_length=300)
    """The contract's name."""
    start_date: date
    """The first day the contract is active."""
    end_date: date | None = None
    """The last day the contract is active; null: open-ended."""
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
    """The ISO 4217 currency of its prices and invoices."""
    services: list[ServiceIn] = Field(min_length=1, max_length=200)
    """The priced services."""

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class ContractPatch(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples({"end_date": "2026-12-31"}),
    )
    name: str | None = Field(default=None, min_length=1, max_length=300)
    """A new name."""
    start_date: date | None = None
    """A new first day."""
    end_date: date | None = None
    """A new last day; null makes the contract open-ended."""
    services: list[ServiceIn] | None = Field(default=None, min_length=1, max_length=200)
    """The services replacing the current ones, all of them."""

    @model_validator(mode="after")
    def _not_null(self) -> ContractPatch:
        for name in ("name", "start_date", "services"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TierOut(ApiModel):
    up_to: Quantity | None = Field(description=UP_TO)
    unit_price: Decimal
    """The price of a unit in this tier, as ``ServiceOut.unit_price``."""


class PricingOut(ApiModel):
    model: PricingModel = Field(description=PRICING_MODEL)
    tiers: list[TierOut]
    """The tiers in ascending ``up_to``; `per_unit` has one, unbounded."""


class ServiceOut(ApiModel):
    id: str
    """The service's id."""
    service_code: str
    """The code service mappings feed usage to."""
    name: str
    """The service's name, as invoice lines describe it."""
    unit_price: Decimal = Field(
        description="Without trailing zeros, never fewer digits than the currency's, "
        "as invoice lines show unit prices."
    )
    counting_basis: CountingBasis = Field(description=COUNTING_BASIS)
    pricing: PricingOut
    """How the billed quantity is priced."""
    minimum_units: Quantity
    """Each day counts at least this many units."""


class ContractOut(ApiModel):
    id: str
    """The contract's id."""
    company_id: str
    """The company billed."""
    name: str
    """The contract's name."""
    start_date: date
    """The first day the contract is active."""
    end_date: date | None
    """The last day the contract is active; null: open-ended."""
    currency: str
    """The ISO 4217 currency of its prices and invoices."""
    services: list[ServiceOut]
    """The priced services."""
    created_at: UtcDateTime
    """When the contract was created."""
    updated_at: UtcDateTime
    """When it was last changed."""


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


@router.post("", status_code=201, response_model=ContractOut, summary="Create a contract")
async def create_contract(body: ContractIn, ctx: Caller, runtime: Runtime) -> ContractOut:
    """A company's priced services from ``start_date``; its usage is billed against them
    at the next billing run of each period the contract is active in."""
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
    return contract_out(row)


@router.get("", response_model=Page[ContractOut], summary="List contracts")
async def list_contracts(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[ContractOut]:
    """The tenant's contracts; ``company_id`` narrows to one company's."""
    async with runtime.sessions() as session:
        page = await contracts.list_contracts(session, ctx.tenant_id, company_id, paging)
    return Page(items=[contract_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{contract_id}", response_model=ContractOut, summary="Show a contract")
async def get_contract(contract_id: str, ctx: Caller, runtime: Runtime) -> ContractOut:
    """One contract with its services and their pricing."""
    async with runtime.sessions() as session:
        return contract_out(await contracts.get_contract(session, ctx.tenant_id, contract_id))


@router.patch("/{contract_id}", response_model=ContractOut, summary="Change a contract")
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
        row = await contracts.change_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, changes
        )
    return contract_out(row)
