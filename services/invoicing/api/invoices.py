"""Billing runs and invoices."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import select

from services.invoicing import invoices
from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.billing import parse_period
from services.invoicing.models import InvoiceRow
from services.invoicing.runs import run_billing
from shared.events import InvoicePosted
from shared.pagination import Page, paginate
from shared.problems import NotFound

router = APIRouter(prefix="/v1", tags=["invoices"])
Kind = Literal["invoice", "adjustment", "credit_note"]
Status = Literal["draft", "posted", "paid", "void"]
PERIOD = re.compile(r"^\d{4}-\d{2}$")


class BillingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if not PERIOD.match(value):
            raise ValueError("must be a month as YYYY-MM")
        parse_period(value)
        return value


class BillingRunOut(BaseModel):
    id: str
    period: str
    invoices: int
    corrections: int
    created: int
    updated: int


class SourceOut(BaseModel):
    module: str
    metric: str
    quantity: Decimal


class LineOut(BaseModel):
    id: str
    contract_id: str
    service_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    sources: list[SourceOut]


class InvoiceOut(BaseModel):
    id: str
    number: int | None
    kind: Kind
    corrects: str | None
    company_id: str
    period: str
    currency: str
    status: Status
    lines: list[LineOut]
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    balance: Decimal
    created_at: datetime
    updated_at: datetime
    posted_at: datetime | None


class InvoiceSummary(BaseModel):
    id: str
    number: int | None
    kind: Kind
    corrects: str | None
    company_id: str
    period: str
    currency: str
    status: Status
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    balance: Decimal


class DayOut(BaseModel):
    date: str
    quantity: Decimal
    estimated: bool


class ExplainSource(BaseModel):
    module: str
    metric: str
    days: list[DayOut]


class ExplainOut(BaseModel):
    invoice_id: str
    line_id: str
    service_code: str
    quantity: Decimal
    amount: Decimal
    sources: list[ExplainSource]


@router.post("/billing-runs", status_code=201, response_model=BillingRunOut)
async def create_billing_run(body: BillingRunIn, ctx: Caller, runtime: Runtime) -> BillingRunOut:
    """Creates or refreshes the drafts of every company with a contract active in the period."""
    async with runtime.transaction() as session:
        result = await run_billing(session, ctx.tenant_id, body.period)
    return BillingRunOut(**result.__dict__)


@router.get("/invoices", response_model=Page[InvoiceSummary])
async def list_invoices(
    ctx: Caller, runtime: Runtime, paging: Paging,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Status | None = None,
    kind: Kind | None = None,
) -> Page[InvoiceSummary]:
    query = select(InvoiceRow).where(InvoiceRow.tenant_id == ctx.tenant_id)
    for column, value in ((InvoiceRow.period, period), (InvoiceRow.company_id, company_id),
                          (InvoiceRow.status, status), (InvoiceRow.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    async with runtime.sessions() as session:
        return await paginate(
            session, query, [InvoiceRow.id], paging,
            lambda r: InvoiceSummary.model_validate(invoices.invoice_json(r[0], lines=False)),
            lambda r: (r[0].id,),
        )


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(invoice_id: str, ctx: Caller, runtime: Runtime) -> InvoiceOut:
    async with runtime.sessions() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id)
    return InvoiceOut.model_validate(invoices.invoice_json(row))


@router.get("/invoices/{invoice_id}/lines/{line_id}/explain", response_model=ExplainOut)
async def explain_line(invoice_id: str, line_id: str, ctx: Caller, runtime: Runtime) -> ExplainOut:
    """The daily quantities behind a line, per source, with estimated days marked."""
    async with runtime.sessions() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id)
    line = next((x for x in row.lines if x.id == line_id), None)
    if line is None:
        raise NotFound(f"No line {line_id} on invoice {invoice_id}.")
    return ExplainOut(
        invoice_id=row.id, line_id=line.id, service_code=line.service_code,
        quantity=line.quantity, amount=line.amount,
        sources=[
            ExplainSource(module=s["module"], metric=s["metric"], days=[
                DayOut(date=d, quantity=Decimal(q), estimated=e) for d, q, e in s["days"]])
            for s in json.loads(line.daily)
        ],
    )


@router.post("/invoices/{invoice_id}/post", response_model=InvoiceOut)
async def post_invoice(invoice_id: str, ctx: Caller, runtime: Runtime) -> InvoiceOut:
    """Gives the next number of the tenant's gapless sequence and freezes the invoice."""
    async with runtime.transaction() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id, lock=True)
        await invoices.post(session, row)
        body = invoices.invoice_json(row)
        out = InvoiceOut.model_validate(body)
        await runtime.outbox.add(session, ctx.tenant_id,
                                 InvoicePosted(invoice=out.model_dump(mode="json")))
    return out


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(invoice_id: str, ctx: Caller, runtime: Runtime) -> InvoiceOut:
    async with runtime.transaction() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id, lock=True)
        invoices.void(row)
        await session.flush()
        out = InvoiceOut.model_validate(invoices.invoice_json(row))
    return out
