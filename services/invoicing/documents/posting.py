"""Posting a draft: the next number of the tenant's gapless sequence, the invoice and due
dates, seller and customer frozen, and ``invoice.posted`` with the full invoice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.holds import check_postable
from services.invoicing.documents import lifecycle
from services.invoicing.documents.lifecycle import NUMBERED, InvoiceStatus
from services.invoicing.documents.numbering import issue_date, next_number
from services.invoicing.documents.parties import SellerDefaults, parties_of
from services.invoicing.documents.queries import ShownInvoice, load_invoice
from services.invoicing.documents.shape import invoice_document_json
from services.invoicing.models import InvoiceRow
from shared.clock import Clock, utc_now
from shared.events import InvoicePosted
from shared.outbox import Outbox
from shared.problems import Conflict


async def post_invoice(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    invoice_id: str,
    *,
    timezone: str,
    defaults: SellerDefaults,
    clock: Clock = utc_now,
) -> ShownInvoice:
    """Numbers and freezes the draft: invoice date (in the tenant's ``timezone``), due date
    from the seller's payment terms, seller and customer as they are now."""
    row = await load_invoice(session, tenant_id, invoice_id, lock=True)
    lifecycle.check(row.status, InvoiceStatus.POSTED)
    await check_postable(session, row)
    if row.corrects is not None:
        corrected = await session.get(InvoiceRow, row.corrects)
        if corrected is None or corrected.status not in NUMBERED:
            raise Conflict("The invoice this document corrects is no longer posted.")
    parties = await parties_of(session, row, defaults)
    row.number = await next_number(session, row.tenant_id)
    row.status = lifecycle.advance(row.status, InvoiceStatus.POSTED)
    row.posted_at = clock()
    row.issued_on = issue_date(row.posted_at, timezone)
    row.due_on = row.issued_on + timedelta(days=parties.seller.payment_terms_days)
    row.parties = parties.stored()
    row.balance = row.total
    row.updated_at = row.posted_at
    await session.flush()
    await outbox.add(session, tenant_id, InvoicePosted(invoice=invoice_document_json(row, parties)))
    return ShownInvoice(row, parties)
