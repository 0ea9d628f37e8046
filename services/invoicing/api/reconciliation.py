"""The reconciliation of a period (usage, what is billed, why the rest is not, what the
vendor charged) and the margin report."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.assurance import service
from services.invoicing.documents.formatting import money
from shared.openapi_docs import ApiModel
from shared.pagination import page_of
from shared.wire import Period, Quantity

router = APIRouter(prefix="/v1", tags=["revenue assurance"])


class UnbilledOut(ApiModel):
    """Usage that reaches no invoice line, by the first reason that applies (in this
    order)."""

    billing_disabled: Quantity
    """Usage of days the module's billing was off."""
    excluded_org: Quantity
    """Usage of orgs excluded from billing."""
    unmapped_org: Quantity
    """Usage of orgs not mapped to a company."""
    unmapped_metric: Quantity
    """Usage of a metric no service mapping covers."""
    no_contract: Quantity
    """Usage no active contract of the company carries a service for."""


class ReconciliationRowOut(ApiModel):
    module: str
    """The module (catalog id)."""
    metric: str
    """The module's metric."""
    vendor_quantity: Quantity | None = Field(
        description="null when no vendor bill of the module is recorded for the period"
    )
    usage_quantity: Quantity
    """The period's average daily quantity over all of the tenant's usage of the metric."""
    billed_quantity: Quantity
    """The part of ``usage_quantity`` that reaches invoice lines of the period."""
    unbilled: UnbilledOut
    """Why the rest does not; with ``billed_quantity`` it adds up to ``usage_quantity``."""
    difference: Quantity | None = Field(description="vendor_quantity - usage_quantity")


class ReconciliationOut(ApiModel):
    period: str
    """The month reconciled, ``YYYY-MM``."""
    days: int
    """The days of the month, the divisor of the average daily quantities."""
    items: list[ReconciliationRowOut]
    """One row per ``(module, metric)`` with usage or a vendor bill in the period."""


@router.get(
    "/reconciliation",
    response_model=ReconciliationOut,
    summary="Reconcile a period's usage with billing and vendor bills",
)
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


class ServiceMarginOut(ApiModel):
    service_code: str
    """The contract service code."""
    revenue: Decimal
    """Net of tax: the service's line amounts in the period's documents that are not void."""
    cost: Decimal
    """Billed quantity of each of its metrics x that metric's ``unit_cost``."""
    margin: Decimal
    """``revenue`` - ``cost``."""


class UncostedOut(ApiModel):
    """Billed usage without a vendor bill in the company's currency."""

    module: str
    """The module (catalog id)."""
    metric: str
    """The module's metric."""
    quantity: Quantity
    """The billed quantity left without cost."""
    vendor_currency: str | None = Field(
        description="the currency of the module's vendor bill when it differs; null: no bill"
    )


class CompanyMarginOut(ApiModel):
    company_id: str
    """The company invoiced."""
    company_name: str
    """The company's name."""
    currency: str
    """The ISO 4217 currency of its documents; amounts are in it."""
    revenue: Decimal
    """Net of tax, corrections included: the line amounts of the period's documents that
    are not void (drafts too)."""
    cost: Decimal
    """Billed quantity of each metric x its ``unit_cost`` on the module's vendor bill in
    ``currency``, rounded to the minor unit."""
    margin: Decimal
    """``revenue`` - ``cost``."""
    services: list[ServiceMarginOut]
    """The same per service code."""
    uncosted: list[UncostedOut]
    """Billed metrics without a vendor bill in ``currency``."""


class CurrencyTotalOut(ApiModel):
    currency: str
    """The ISO 4217 currency; totals are never converted."""
    revenue: Decimal
    """Σ of the companies' revenue in this currency."""
    cost: Decimal
    """Σ of the companies' cost in this currency."""
    margin: Decimal
    """Σ of the companies' margin in this currency."""


class MarginReportOut(ApiModel):
    period: str
    """The month reported, ``YYYY-MM``."""
    items: list[CompanyMarginOut]
    """One per company and currency, a page of them."""
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""
    totals: list[CurrencyTotalOut] = Field(description="per currency, over every company")


@router.get("/reports/margin", response_model=MarginReportOut, summary="Report a period's margins")
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
    page = page_of(report.companies, paging)
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
        for c in page.items
    ]
    return MarginReportOut(
        period=report.period,
        items=items,
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
