"""Payments against posted invoices and adjustments: partial or full, never above the balance,
received between the posting date and today (tenant's zone).

The invoice row is locked while a payment is recorded, so two concurrent payments cannot
both fit into the same balance. Payments are never deleted; see
:mod:`services.invoicing.receivables.reversals`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents import lifecycle
from services.invoicing.documents.formatting import money
from services.invoicing.documents.lifecycle import PAYABLE, InvoiceStatus
from services.invoicing.documents.numbering import issue_date
from services.invoicing.documents.queries import load_invoice
from services.invoicing.models import InvoiceRow, PaymentRow
from services.invoicing.receivables.amounts import check_amount, check_date
from services.invoicing.receivables.settlement import balance_fields, move
from shared.clock import Clock, utc_now
from shared.events import PaymentRecorded
from shared.outbox import Outbox
from shared.problems import Conflict


class PaymentExceedsBalance(Conflict):
    slug, title = "payment-exceeds-balance", "Payment exceeds the balance"


class DuplicatePayment(Conflict):
    slug, title = "duplicate-payment", "Payment already recorded"


@dataclass(frozen=True)
class Receipt:
    payment: PaymentRow
    invoice: InvoiceRow
    """After the payment: its balance and status."""


@dataclass(frozen=True)
class PaymentHistory:
    invoice: InvoiceRow
    payments: list[PaymentRow]
    """In the order received, reversed ones included."""

    @property
    def paid(self) -> Decimal:
        """What the payments that stand (not reversed) add up to."""
        return sum((p.amount for p in self.payments if p.reversed_on is None), Decimal(0))


async def record_payment(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    invoice_id: str,
    amount: Decimal,
    *,
    received_on: date | None,
    reference: str | None,
    timezone: str,
    clock: Clock = utc_now,
) -> Receipt:
    """A partial or full payment; the invoice is ``paid`` once its balance is 0. Without
    ``received_on``, today in the tenant's ``timezone``."""
    invoice = await load_invoice(session, tenant_id, invoice_id, lock=True)
    now = clock()
    today = issue_date(now, timezone)
    received_on = received_on or today
    if invoice.kind not in PAYABLE:
        raise Conflict(
            "A credit note takes no payments: apply its credit to an invoice "
            f"(POST /v1/invoices/{invoice.id}/applications) or refund it "
            f"(POST /v1/invoices/{invoice.id}/refunds)."
        )
    lifecycle.check(invoice.status, InvoiceStatus.PAID)
    check_amount(amount, invoice.currency)
    check_date(received_on, "received_on", posted_on=invoice.issued_on, today=today)
    if amount > invoice.balance:
        raise PaymentExceedsBalance(
            f"The payment of {money(amount, invoice.currency)} {invoice.currency} is above the "
            f"balance of {money(invoice.balance, invoice.currency)} {invoice.currency}."
        )
    if reference and await session.scalar(
        select(PaymentRow.id).where(
            PaymentRow.invoice_id == invoice.id, PaymentRow.reference == reference
        )
    ):
        raise DuplicatePayment(
            f"A payment with reference {reference!r} is already recorded on this invoice."
        )
    payment = PaymentRow(
        id=str(uuid.uuid4()),
        tenant_id=invoice.tenant_id,
        invoice_id=invoice.id,
        amount=amount,
        received_on=received_on,
        reference=reference,
        created_at=now,
    )
    session.add(payment)
    follow = move(invoice, -amount, now)
    await session.flush()
    recorded = PaymentRecorded(
        **balance_fields(invoice),
        payment_id=payment.id,
        amount=money(amount, invoice.currency),
        received_on=received_on,
        reference=reference,
    )
    await outbox.add(session, tenant_id, recorded, *follow)
    return Receipt(payment, invoice)


async def payment_history(session: AsyncSession, tenant_id: str, invoice_id: str) -> PaymentHistory:
    invoice = await load_invoice(session, tenant_id, invoice_id)
    payments = await session.scalars(
        select(PaymentRow)
        .where(PaymentRow.invoice_id == invoice_id)
        .order_by(PaymentRow.received_on, PaymentRow.created_at, PaymentRow.id)
    )
    return PaymentHistory(invoice, list(payments))
