"""Payments against posted invoices and adjustments: partial or full, never above the balance.

The invoice row is locked while a payment is recorded, so two concurrent payments cannot
both fit into the same balance.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.service import PAYABLE, money
from services.invoicing.models import InvoiceRow, PaymentRow
from shared.money import minor_units
from shared.problems import Conflict, invalid


class PaymentExceedsBalance(Conflict):
    slug, title = "payment-exceeds-balance", "Payment exceeds the balance"


class DuplicatePayment(Conflict):
    slug, title = "duplicate-payment", "Payment already recorded"


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
    invoice: InvoiceRow,
    amount: Decimal,
    received_on: date,
    reference: str | None,
) -> PaymentRow:
    """``invoice`` must be loaded with its row lock held."""
    if invoice.kind not in PAYABLE:
        raise Conflict(
            "A credit note takes no payments: its balance is what is owed to the customer."
        )
    if invoice.status != "posted":
        raise Conflict(
            f"Payments are recorded against posted invoices; this one is {invoice.status}."
        )
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
    now = datetime.now(UTC)
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
        invoice.status = "paid"
    invoice.updated_at = now
    await session.flush()
    return payment


async def payments_of(session: AsyncSession, invoice_id: str) -> list[PaymentRow]:
    return list(
        await session.scalars(
            select(PaymentRow)
            .where(PaymentRow.invoice_id == invoice_id)
            .order_by(PaymentRow.received_on, PaymentRow.created_at, PaymentRow.id)
        )
    )
