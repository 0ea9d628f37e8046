"""Recurring service contracts: the priced services a company's usage is billed against,
their service terms versioned by amendments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

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
from services.invoicing.contracts.service import (
    Amendment,
    ContractChanges,
    NewContract,
    ServiceSpec,
    in_force,
    versions,
)
from services.invoicing.contracts.terms import service_pricing
from services.invoicing.documents.formatting import price
from services.invoicing.models import ContractRow, ContractServiceRow
from shared.context import CallerContext
from shared.pagination import Page
from shared.problems import ValidationFailed
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
    services: Any = Field(
        default=None,
        description="Refused with 422: service terms change only through "
        "POST /v1/contracts/{id}/amendments.",
        json_schema_extra={"deprecated": True},
    )

    @model_validator(mode="after")
    def _not_null(self) -> ContractPatch:
        for name in ("name", "start_date"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_from: date
    services: list[ServiceIn] = Field(min_length=1, max_length=200)


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


class VersionOut(BaseModel):
    effective_from: date
    services: list[ServiceOut]


class ContractOut(BaseModel):
    id: str
    company_id: str
    name: str
    start_date: date
    end_date: date | None
    currency: str
    services: list[ServiceOut] = Field(
        description="The services in force today (in the tenant's time zone); before the "
        "contract starts, those of its first version."
    )
    versions: list[VersionOut] = Field(
        description="Every version of the service terms, oldest first; the first one's "
        "effective_from is start_date. Change them with POST /v1/contracts/{id}/amendments."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime


def _service_out(s: ContractServiceRow, currency: str) -> ServiceOut:
    return ServiceOut(
        id=s.id,
        service_code=s.service_code,
        name=s.name,
        unit_price=price(s.unit_price, currency),
        counting_basis=s.counting_basis,
        pricing=PricingOut(
            model=s.pricing_model,
            tiers=[
                TierOut(up_to=t.up_to, unit_price=price(t.unit_price, currency))
                for t in service_pricing(s).tiers
            ],
        ),
        minimum_units=s.minimum_units,
    )


def _today(ctx: CallerContext) -> date:
    return datetime.now(ZoneInfo(ctx.timezone)).date()


def contract_out(row: ContractRow, today: date) -> ContractOut:
    all_versions = versions(row)
    return ContractOut(
        id=row.id,
        company_id=row.company_id,
        name=row.name,
        start_date=row.start_date,
        end_date=row.end_date,
        currency=row.currency,
        created_at=row.created_at,
        updated_at=row.updated_at,
        services=[_service_out(s, row.currency) for s in in_force(all_versions, today).services],
        versions=[
            VersionOut(
                effective_from=v.effective_from,
                services=[_service_out(s, row.currency) for s in v.services],
            )
            for v in all_versions
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
    return contract_out(row, _today(ctx))


@router.get("", response_model=Page[ContractOut])
async def list_contracts(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[ContractOut]:
    async with runtime.sessions() as session:
        page = await contracts.list_contracts(session, ctx.tenant_id, company_id, paging)
    today = _today(ctx)
    return Page(items=[contract_out(r, today) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{contract_id}", response_model=ContractOut)
async def get_contract(contract_id: str, ctx: Caller, runtime: Runtime) -> ContractOut:
    async with runtime.sessions() as session:
        row = await contracts.get_contract(session, ctx.tenant_id, contract_id)
    return contract_out(row, _today(ctx))


@router.patch("/{contract_id}", response_model=ContractOut)
async def patch_contract(
    contract_id: str, body: ContractPatch, ctx: Caller, runtime: Runtime
) -> ContractOut:
    """Name and dates; changes apply to drafts at the next billing run, posted invoices get
    corrections. Service terms change only by amendment (``services`` answers 422)."""
    fields = body.model_fields_set
    if "services" in fields:
        raise ValidationFailed(
            "Service terms change only through amendments: POST "
            f"/v1/contracts/{contract_id}/amendments {{effective_from, services}}.",
            errors=[
                {
                    "loc": ["body", "services"],
                    "msg": "service terms change only through amendments: "
                    "POST /v1/contracts/{id}/amendments",
                }
            ],
        )
    changes = ContractChanges(
        name=body.name,
        start_date=body.start_date if "start_date" in fields else None,
        end_date=body.end_date,
        sets_end_date="end_date" in fields,
    )
    async with runtime.transaction() as session:
        row = await contracts.change_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, changes
        )
    return contract_out(row, _today(ctx))


@router.post("/{contract_id}/amendments", status_code=201, response_model=ContractOut)
async def amend_contract(
    contract_id: str, body: AmendmentIn, ctx: Caller, runtime: Runtime
) -> ContractOut:
    """New service terms from ``effective_from`` (within the contract's dates) on; an
    amendment on the date of an existing version replaces it. Drafts follow at the next
    billing run; a posted period it reaches into gets a correction document there."""
    amendment = Amendment(body.effective_from, service_specs(body.services))
    async with runtime.transaction() as session:
        row = await contracts.amend_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, amendment
        )
    return contract_out(row, _today(ctx))
