"""Payments of posted invoices and adjustments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.api.schemas import InvoiceSummary
from services.invoicing.documents import payments
from services.invoicing.documents import service as invoices
from services.invoicing.documents.service import issue_date
from services.invoicing.models import InvoiceRow, PaymentRow

router = APIRouter(prefix="/v1", tags=["payments"])
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=4)]


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount: Amount
    received_on: date | None = None
    """Default: today in the tenant's time zone."""
    reference: str | None = Field(default=None, min_length=1, max_length=200)
    """The bank or remittance reference; the same reference twice on one invoice is refused."""


class PaymentOut(BaseModel):
    id: str
    invoice_id: str
    amount: Decimal
    currency: str
    received_on: date
    reference: str | None
    created_at: datetime


class PaymentReceipt(PaymentOut):
    invoice: InvoiceSummary
    """The invoice after the payment: its balance and status."""


class PaymentList(BaseModel):
    items: list[PaymentOut]
    paid: Decimal
    balance: Decimal


def payment_out(row: PaymentRow, invoice: InvoiceRow) -> PaymentOut:
    return PaymentOut(
        id=row.id,
        invoice_id=row.invoice_id,
        currency=invoice.currency,
        amount=invoices.money(row.amount, invoice.currency),
        received_on=row.received_on,
        reference=row.reference,
        created_at=row.created_at,
    )


@router.post("/invoices/{invoice_id}/payments", status_code=201, response_model=PaymentReceipt)
async def record_payment(
    invoice_id: str, body: PaymentIn, ctx: Caller, runtime: Runtime
) -> PaymentReceipt:
    """A partial or full payment of a posted invoice or adjustment; the invoice is ``paid``
    once its balance is 0. A payment above the balance is refused (409)."""
    async with runtime.transaction() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id, lock=True)
        received_on = body.received_on or issue_date(datetime.now(UTC), ctx.timezone)
        payment = await payments.record_payment(
            session, row, body.amount, received_on, body.reference
        )
        receipt = PaymentReceipt(
            **payment_out(payment, row).model_dump(),
            invoice=InvoiceSummary.model_validate(invoices.invoice_json(row, lines=False)),
        )
    return receipt


@router.get("/invoices/{invoice_id}/payments", response_model=PaymentList)
async def list_payments(invoice_id: str, ctx: Caller, runtime: Runtime) -> PaymentList:
    async with runtime.sessions() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id)
        rows = await payments.payments_of(session, invoice_id)
    cur = row.currency
    return PaymentList(
        items=[payment_out(p, row) for p in rows],
        paid=invoices.money(sum((p.amount for p in rows), Decimal(0)), cur),
        balance=invoices.money(row.balance, cur),
    )
