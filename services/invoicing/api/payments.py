"""Payments of posted invoices and adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.changes import invoice_changed, state_before
from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.api.document_schemas import InvoiceSummary, invoice_summary
from services.invoicing.documents import payments
from services.invoicing.documents.formatting import money
from services.invoicing.documents.queries import ListedInvoice, company_name
from services.invoicing.models import InvoiceRow, PaymentRow
from shared.wire import UtcDateTime

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
    created_at: UtcDateTime


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
        amount=money(row.amount, invoice.currency),
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
        before = await state_before(session, ctx.tenant_id, invoice_id)
        receipt = await payments.record_payment(
            session,
            ctx.tenant_id,
            invoice_id,
            body.amount,
            received_on=body.received_on,
            reference=body.reference,
            timezone=ctx.timezone,
        )
    invoice_changed(invoice_id, "invoice.payment", before, receipt.invoice)
    return PaymentReceipt(
        **payment_out(receipt.payment, receipt.invoice).model_dump(),
        invoice=invoice_summary(
            ListedInvoice(receipt.invoice, company_name(receipt.invoice, None))
        ),
    )


@router.get("/invoices/{invoice_id}/payments", response_model=PaymentList)
async def list_payments(invoice_id: str, ctx: Caller, runtime: Runtime) -> PaymentList:
    async with runtime.sessions() as session:
        history = await payments.payment_history(session, ctx.tenant_id, invoice_id)
    cur = history.invoice.currency
    return PaymentList(
        items=[payment_out(p, history.invoice) for p in history.payments],
        paid=money(history.paid, cur),
        balance=money(history.invoice.balance, cur),
    )
