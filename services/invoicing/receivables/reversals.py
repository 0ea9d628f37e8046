"""Payment reversals: a payment is never deleted; a reversal marks it and opens its amount
on the invoice again (a ``paid`` invoice becomes ``posted``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.formatting import money
from services.invoicing.documents.numbering import issue_date
from services.invoicing.documents.queries import load_invoice
from services.invoicing.models import InvoiceRow, PaymentRow
from services.invoicing.receivables.settlement import balance_fields, move
from shared.clock import Clock, utc_now
from shared.events import PaymentReversed
from shared.outbox import Outbox
from shared.problems import Conflict, NotFound


@dataclass(frozen=True)
class Reversal:
    payment: PaymentRow
    invoice: InvoiceRow
    """After the reversal: its balance and status."""


async def reverse_payment(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    invoice_id: str,
    payment_id: str,
    *,
    reason: str,
    timezone: str,
    clock: Clock = utc_now,
) -> Reversal:
    invoice = await load_invoice(session, tenant_id, invoice_id, lock=True)
    payment = await session.get(PaymentRow, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound(f"No payment {payment_id} on invoice {invoice_id}.")
    if payment.reversed_on is not None:
        raise Conflict(
            f"The payment was already reversed on {payment.reversed_on.isoformat()}: "
            f"{payment.reversal_reason}"
        )
    now = clock()
    payment.reversed_on = issue_date(now, timezone)
    payment.reversal_reason = reason
    payment.reversed_at = now
    follow = move(invoice, payment.amount, now)
    await session.flush()
    reversed_ = PaymentReversed(
        **balance_fields(invoice),
        payment_id=payment.id,
        amount=money(payment.amount, invoice.currency),
        reversed_on=payment.reversed_on,
        reason=reason,
    )
    await outbox.add(session, tenant_id, reversed_, *follow)
    return Reversal(payment, invoice)
