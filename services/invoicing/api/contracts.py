"""Recurring service contracts: the priced services a company's usage is billed against,
their service terms versioned by amendments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

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
from shared.changes import changed
from shared.context import CallerContext
from shared.openapi_docs import ApiModel, examples
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


class AmendmentIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=examples(
            {
                "effective_from": "2026-07-01",
                "services": [
                    {"service_code": "RMM-SRV", "name": "Managed server", "unit_price": "27.50"}
                ],
            }
        ),
    )
    effective_from: date
    """The first day the new terms are in force, within the contract's dates; an existing
    version with the same day is replaced."""
    services: list[ServiceIn] = Field(min_length=1, max_length=200)
    """All services of the new version, as in ``POST /v1/contracts``."""


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


class VersionOut(ApiModel):
    effective_from: date
    """The first day of this version's terms."""
    services: list[ServiceOut]
    """The services of this version."""


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
    services: list[ServiceOut] = Field(
        description="The services in force today (in the tenant's time zone); before the "
        "contract starts, those of its first version."
    )
    versions: list[VersionOut] = Field(
        description="Every version of the service terms, oldest first; the first one's "
        "effective_from is start_date. Change them with POST /v1/contracts/{id}/amendments."
    )
    created_at: UtcDateTime
    """When the contract was created."""
    updated_at: UtcDateTime
    """When it was last changed."""


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
    out = contract_out(row, _today(ctx))
    changed("contracts", out.id, "contract.create", None, out)
    return out


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
    today = _today(ctx)
    return Page(items=[contract_out(r, today) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{contract_id}", response_model=ContractOut, summary="Show a contract")
async def get_contract(contract_id: str, ctx: Caller, runtime: Runtime) -> ContractOut:
    """One contract with its services and their pricing."""
    async with runtime.sessions() as session:
        row = await contracts.get_contract(session, ctx.tenant_id, contract_id)
    return contract_out(row, _today(ctx))


@router.patch("/{contract_id}", response_model=ContractOut, summary="Change a contract")
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
        current = await contracts.get_contract(session, ctx.tenant_id, contract_id)
        before = contract_out(current, _today(ctx))
        row = await contracts.change_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, changes
        )
    out = contract_out(row, _today(ctx))
    changed("contracts", contract_id, "contract.update", before, out)
    return out


@router.post(
    "/{contract_id}/amendments",
    status_code=201,
    response_model=ContractOut,
    summary="Amend a contract's service terms",
)
async def amend_contract(
    contract_id: str, body: AmendmentIn, ctx: Caller, runtime: Runtime
) -> ContractOut:
    """New service terms from ``effective_from`` (within the contract's dates) on; an
    amendment on the date of an existing version replaces it. Drafts follow at the next
    billing run; a posted period it reaches into gets a correction document there."""
    amendment = Amendment(body.effective_from, service_specs(body.services))
    async with runtime.transaction() as session:
        current = await contracts.get_contract(session, ctx.tenant_id, contract_id)
        before = contract_out(current, _today(ctx))
        row = await contracts.amend_contract(
            session, runtime.outbox, ctx.tenant_id, contract_id, amendment
        )
    out = contract_out(row, _today(ctx))
    changed("contracts", contract_id, "contract.amend", before, out)
    return out
