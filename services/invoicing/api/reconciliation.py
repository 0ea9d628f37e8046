"""The reconciliation of a period (usage, what is billed, why the rest is not, what the
vendor charged) and the margin report."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.assurance import service
from services.invoicing.documents.formatting import money
from shared.pagination import page_of
from shared.wire import Period, Quantity

router = APIRouter(prefix="/v1", tags=["revenue assurance"])


class UnbilledOut(BaseModel):
    billing_disabled: Quantity
    excluded_org: Quantity
    unmapped_org: Quantity
    unmapped_metric: Quantity
    no_contract: Quantity


class ReconciliationRowOut(BaseModel):
    module: str
    metric: str
    vendor_quantity: Quantity | None = Field(
        description="null when no vendor bill of the module is recorded for the period"
    )
    usage_quantity: Quantity
    billed_quantity: Quantity
    unbilled: UnbilledOut
    difference: Quantity | None = Field(description="vendor_quantity - usage_quantity")


class ReconciliationOut(BaseModel):
    period: str
    days: int
    items: list[ReconciliationRowOut]


@router.get("/reconciliation", response_model=ReconciliationOut)
async def get_reconciliation(
    ctx: Caller, runtime: Runtime, period: Annotated[Period, Query()]
) -> ReconciliationOut:
    """One row per ``(module, metric)`` with usage or a vendor bill in the period. Quantities
    are average daily quantities (Σ over the days / days of the month) over all of the
    tenant's usage; ``billed_quantity`` is what reaches invoice lines, ``unbilled`` why the
    rest does not (first reason that applies, in this order: billing_disabled,
    excluded_org, unmapped_org, unmapped_metric, no_contract); together they add up to
    ``usage_quantity``."""
    async with runtime.sessions() as session:
        found = await service.reconciliation(session, ctx.tenant_id, period)
    return ReconciliationOut(
        period=found.period,
        days=found.days,
        items=[
            ReconciliationRowOut(
                module=r.module,
                metric=r.metric,
                vendor_quantity=r.vendor_quantity,
                usage_quantity=r.usage_quantity,
                billed_quantity=r.billed_quantity,
                unbilled=UnbilledOut(**r.unbilled),
                difference=r.difference,
            )
            for r in found.rows
        ],
    )


class ServiceMarginOut(BaseModel):
    service_code: str
    revenue: Decimal
    cost: Decimal
    margin: Decimal


class UncostedOut(BaseModel):
    module: str
    metric: str
    quantity: Quantity
    vendor_currency: str | None = Field(
        description="the currency of the module's vendor bill when it differs; null: no bill"
    )


class CompanyMarginOut(BaseModel):
    company_id: str
    company_name: str
    currency: str
    revenue: Decimal
    cost: Decimal
    margin: Decimal
    services: list[ServiceMarginOut]
    uncosted: list[UncostedOut]


class CurrencyTotalOut(BaseModel):
    currency: str
    revenue: Decimal
    cost: Decimal
    margin: Decimal


class MarginReportOut(BaseModel):
    period: str
    items: list[CompanyMarginOut]
    next_cursor: str | None
    totals: list[CurrencyTotalOut] = Field(description="per currency, over every company")


@router.get("/reports/margin", response_model=MarginReportOut)
async def get_margin_report(
    ctx: Caller, runtime: Runtime, paging: Paging, period: Annotated[Period, Query()]
) -> MarginReportOut:
    """Per company and currency: revenue (net of tax, every document of the period that is
    not void, corrections included), cost (billed quantity of each metric x its unit cost
    on the module's vendor bill in the same currency) and margin, per service code too.
    Billed usage without a vendor bill in that currency is listed as ``uncosted``; there
    are no exchange rates, so totals are per currency."""
    async with runtime.sessions() as session:
        report = await service.margin_report(session, ctx.tenant_id, period)
    items = [
        CompanyMarginOut(
            company_id=c.company_id,
            company_name=report.company_names.get(c.company_id, ""),
            currency=c.currency,
            revenue=money(c.revenue, c.currency),
            cost=money(c.cost, c.currency),
            margin=money(c.margin, c.currency),
            services=[
                ServiceMarginOut(
                    service_code=s.service_code,
                    revenue=money(s.revenue, c.currency),
                    cost=money(s.cost, c.currency),
                    margin=money(s.margin, c.currency),
                )
                for s in c.services
            ],
            uncosted=[
                UncostedOut(
                    module=u.module,
                    metric=u.metric,
                    quantity=u.quantity,
                    vendor_currency=u.vendor_currency,
                )
                for u in c.uncosted
            ],
        )
        for c in report.companies
    ]
    page = page_of(items, paging)
    return MarginReportOut(
        period=report.period,
        items=page.items,
        next_cursor=page.next_cursor,
        totals=[
            CurrencyTotalOut(
                currency=t.currency,
                revenue=money(t.revenue, t.currency),
                cost=money(t.cost, t.currency),
                margin=money(t.margin, t.currency),
            )
            for t in report.totals
        ],
    )
