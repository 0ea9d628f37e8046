"""Payments of posted invoices and adjustments, and their reversals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from services.invoicing.api.changes import invoice_changed, state_before
from services.invoicing.api.deps import Caller, Runtime, Today
from services.invoicing.api.document_schemas import InvoiceSummary, invoice_summary
from services.invoicing.documents import payments
from services.invoicing.documents.formatting import money
from services.invoicing.documents.queries import ListedInvoice, company_name
from services.invoicing.models import InvoiceRow, PaymentRow
from services.invoicing.receivables import reversals
from shared.openapi_docs import ApiModel, examples
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["payments"])
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=4)]


class PaymentIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {"amount": "119.00", "received_on": "2026-04-10", "reference": "BANK-2026-0410-17"}
        ),
    )
    amount: Amount
    """The amount received, a positive decimal string in the invoice's currency, at most
    its balance."""
    received_on: date | None = None
    """Default: today in the tenant's time zone; never after today nor before the posting
    date (422)."""
    reference: str | None = Field(default=None, min_length=1, max_length=200)
    """The bank or remittance reference; the same reference twice on one invoice is refused."""


class PaymentOut(ApiModel):
    id: str
    """The payment's id."""
    invoice_id: str
    """The invoice paid."""
    amount: Decimal
    """The amount received, in the currency's minor digits."""
    currency: str
    """The invoice's ISO 4217 currency."""
    received_on: date
    """The day the money was received."""
    reference: str | None
    """The bank or remittance reference."""
    created_at: UtcDateTime
    """When the payment was recorded."""
    reversed_on: date | None = None
    """The day the payment was reversed; null while it stands."""
    reversal_reason: str | None = None
    """Why it was reversed."""


class ReversalIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples({"reason": "The bank returned the transfer."}),
    )
    reason: str = Field(min_length=1, max_length=2000)
    """Why the payment is reversed (a returned transfer, a wrong invoice)."""


class PaymentReceipt(PaymentOut):
    invoice: InvoiceSummary
    """The invoice after the payment: its balance and status."""


class PaymentList(ApiModel):
    items: list[PaymentOut]
    """Reversed payments included, marked by ``reversed_on``."""
    paid: Decimal
    """What the payments that stand add up to."""
    balance: Decimal
    """What is still owed on the invoice."""


def payment_out(row: PaymentRow, invoice: InvoiceRow) -> PaymentOut:
    return PaymentOut(
        id=row.id,
        invoice_id=row.invoice_id,
        currency=invoice.currency,
        amount=money(row.amount, invoice.currency),
        received_on=row.received_on,
        reference=row.reference,
        created_at=row.created_at,
        reversed_on=row.reversed_on,
        reversal_reason=row.reversal_reason,
    )


def receipt(payment: PaymentRow, invoice: InvoiceRow, today: date) -> PaymentReceipt:
    return PaymentReceipt(
        **payment_out(payment, invoice).model_dump(),
        invoice=invoice_summary(ListedInvoice(invoice, company_name(invoice, None)), today),
    )


@router.post(
    "/invoices/{invoice_id}/payments",
    status_code=201,
    response_model=PaymentReceipt,
    summary="Record a payment",
)
async def record_payment(
    invoice_id: str, body: PaymentIn, ctx: Caller, runtime: Runtime, today: Today
) -> PaymentReceipt:
    """A partial or full payment of a posted invoice or adjustment; the invoice is ``paid``
    once its balance is 0. A payment above the balance is refused (409); publishes
    ``payment.recorded``."""
    async with runtime.transaction() as session:
        before = await state_before(session, ctx.tenant_id, invoice_id)
        done = await payments.record_payment(
            session,
            runtime.outbox,
            ctx.tenant_id,
            invoice_id,
            body.amount,
            received_on=body.received_on,
            reference=body.reference,
            timezone=ctx.timezone,
        )
    invoice_changed(invoice_id, "invoice.payment", before, done.invoice)
    return receipt(done.payment, done.invoice, today)


@router.post(
    "/invoices/{invoice_id}/payments/{payment_id}/reversal",
    status_code=201,
    response_model=PaymentReceipt,
    summary="Reverse a payment",
)
async def reverse_payment(
    invoice_id: str,
    payment_id: str,
    body: ReversalIn,
    ctx: Caller,
    runtime: Runtime,
    today: Today,
) -> PaymentReceipt:
    """Payments are never deleted: the reversal marks the payment and opens its amount on
    the invoice again (a ``paid`` invoice becomes ``posted``); publishes
    ``payment.reversed``. A payment reversed once is refused (409)."""
    async with runtime.transaction() as session:
        before = await state_before(session, ctx.tenant_id, invoice_id)
        done = await reversals.reverse_payment(
            session,
            runtime.outbox,
            ctx.tenant_id,
            invoice_id,
            payment_id,
            reason=body.reason,
            timezone=ctx.timezone,
        )
    invoice_changed(invoice_id, "invoice.payment_reversal", before, done.invoice)
    return receipt(done.payment, done.invoice, today)


@router.get(
    "/invoices/{invoice_id}/payments",
    response_model=PaymentList,
    summary="List an invoice's payments",
)
async def list_payments(invoice_id: str, ctx: Caller, runtime: Runtime) -> PaymentList:
    """Every payment of the invoice, with their sum and the balance still owed."""
    async with runtime.sessions() as session:
        history = await payments.payment_history(session, ctx.tenant_id, invoice_id)
    cur = history.invoice.currency
    return PaymentList(
        items=[payment_out(p, history.invoice) for p in history.payments],
        paid=money(history.paid, cur),
        balance=money(history.invoice.balance, cur),
    )
