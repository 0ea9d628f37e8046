"""Voiding: a draft, or a posted document without payments.

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
from shared.clock import Clock, utc_now
from shared.problems import Conflict


def _void(row: InvoiceRow, now: datetime) -> None:
    row.status = lifecycle.advance(row.status, InvoiceStatus.VOID)
    row.balance, row.updated_at = Decimal(0), now


async def void_invoice(
    session: AsyncSession,
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
        raise Conflict("An invoice with payments cannot be voided.")
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
            _void(draft, now)
    _void(row, now)
    await session.flush()
    return ShownInvoice(row, await parties_of(session, row, defaults))
