"""Payments against posted invoices and adjustments: partial or full, never above the balance.

The invoice row is locked while a payment is recorded, so two concurrent payments cannot
both fit into the same balance.
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
from shared.clock import Clock, utc_now
from shared.money import minor_units
from shared.problems import Conflict, invalid


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
    """In the order received."""

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))


def _check_amount(amount: Decimal, currency: str) -> None:
    if amount <= 0:
        raise invalid(["body", "amount"], "must be greater than 0")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise invalid(
            ["body", "amount"], f"{currency} takes at most {places} digits after the decimal point"
        )


async def record_payment(
    session: AsyncSession,
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
    received_on = received_on or issue_date(now, timezone)
    if invoice.kind not in PAYABLE:
        raise Conflict(
            "A credit note takes no payments: its balance is what is owed to the customer."
        )
    lifecycle.check(invoice.status, InvoiceStatus.PAID)
    _check_amount(amount, invoice.currency)
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
    invoice.balance -= amount
    if invoice.balance == 0:
        invoice.status = lifecycle.advance(invoice.status, InvoiceStatus.PAID)
    invoice.updated_at = now
    await session.flush()
    return Receipt(payment, invoice)


async def payment_history(session: AsyncSession, tenant_id: str, invoice_id: str) -> PaymentHistory:
    invoice = await load_invoice(session, tenant_id, invoice_id)
    payments = await session.scalars(
        select(PaymentRow)
        .where(PaymentRow.invoice_id == invoice_id)
        .order_by(PaymentRow.received_on, PaymentRow.created_at, PaymentRow.id)
    )
    return PaymentHistory(invoice, list(payments))
