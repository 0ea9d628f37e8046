"""Voiding: a draft, or a posted document without payments or applied credit; each voided
document publishes ``invoice.voided``.

A posted invoice takes its waiting correction along; one with posted corrections is refused
(void those first), so that the next billing run can invoice the period afresh without
counting anything twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents import lifecycle
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.parties import SellerDefaults, parties_of
from services.invoicing.documents.queries import ShownInvoice, load_invoice
from services.invoicing.models import InvoiceRow
from services.invoicing.receivables.settlement import balance_fields
from shared.clock import Clock, utc_now
from shared.events import InvoiceVoided
from shared.outbox import Outbox
from shared.problems import Conflict


async def _void(session: AsyncSession, outbox: Outbox, row: InvoiceRow, now: datetime) -> None:
    row.status = lifecycle.advance(row.status, InvoiceStatus.VOID)
    row.balance, row.updated_at = Decimal(0), now
    voided = InvoiceVoided(**balance_fields(row), number=row.number)
    await outbox.add(session, row.tenant_id, voided)


async def void_invoice(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    invoice_id: str,
    *,
    defaults: SellerDefaults,
    clock: Clock = utc_now,
) -> ShownInvoice:
    row = await load_invoice(session, tenant_id, invoice_id, lock=True)
    lifecycle.check(row.status, InvoiceStatus.VOID)
    now, posted = clock(), row.status == InvoiceStatus.POSTED
    if posted and row.balance != row.total:
        raise Conflict(
            "A document with payments or applied credit cannot be voided; reverse its "
            "payments first."
        )
    if posted and row.kind == InvoiceKind.INVOICE:
        corrections = list(
            await session.scalars(
                select(InvoiceRow).where(
                    InvoiceRow.corrects == row.id, InvoiceRow.status != InvoiceStatus.VOID
                )
            )
        )
        numbers = sorted(c.number for c in corrections if c.number is not None)
        if numbers:
            raise Conflict(
                "This invoice has posted corrections; void them first: "
                f"numbers {', '.join(map(str, numbers))}."
            )
        for draft in corrections:
            await _void(session, outbox, draft, now)
    await _void(session, outbox, row, now)
    await session.flush()
    return ShownInvoice(row, await parties_of(session, row, defaults))
