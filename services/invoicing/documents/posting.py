"""Posting a draft: the next number of the tenant's gapless sequence, the invoice and due
dates, the number as printed (in the tenant's format), seller and customer frozen, and
``invoice.posted`` with the full invoice.

A seller profile must exist first: a posted document never changes, so one posted without a
seller would stay a document no customer can pay. A zero total is ``paid`` at once; a credit
note is applied to the invoice it corrects when the tenant's ``auto_apply_credit_notes``
holds.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.holds import check_postable
from services.invoicing.assurance.tenant_settings import tenant_settings
from services.invoicing.documents import lifecycle
from services.invoicing.documents.lifecycle import NUMBERED, InvoiceKind, InvoiceStatus
from services.invoicing.documents.numbering import display_number, issue_date, next_number
from services.invoicing.documents.parties import SellerDefaults, parties_of
from services.invoicing.documents.queries import ShownInvoice, lock_in_order
from services.invoicing.documents.shape import invoice_document_json
from services.invoicing.models import InvoiceRow
from services.invoicing.receivables.credit import apply_to_corrected
from services.invoicing.receivables.settlement import settle
from shared.clock import Clock, utc_now
from shared.events import InvoicePosted
from shared.outbox import Outbox
from shared.problems import Conflict


class SellerProfileRequired(Conflict):
    slug, title = "seller-profile-required", "Seller profile required"


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
    corrects = await session.scalar(
        select(InvoiceRow.corrects).where(
            InvoiceRow.id == invoice_id, InvoiceRow.tenant_id == tenant_id
        )
    )
    rows = await lock_in_order(session, tenant_id, [invoice_id, *([corrects] if corrects else [])])
    row = rows[invoice_id]
    lifecycle.check_draft(row.status)
    await check_postable(session, row)
    if row.corrects is not None:
        corrected = rows.get(row.corrects)
        if corrected is None or corrected.status not in NUMBERED:
            raise Conflict("The invoice this document corrects is no longer posted.")
    parties = await parties_of(session, row, defaults)
    if not parties.seller.name.strip():
        raise SellerProfileRequired(
            "Invoices are posted with the seller's name, address, tax id and payment terms, "
            "and no seller profile is set: set it with PUT /v1/seller-profile, then post again."
        )
    settings = await tenant_settings(session, tenant_id)
    row.number = await next_number(session, row.tenant_id)
    row.status = lifecycle.advance(row.status, InvoiceStatus.POSTED)
    row.posted_at = clock()
    row.issued_on = issue_date(row.posted_at, timezone)
    row.display_number = display_number(row.number, row.issued_on, settings.invoice_number_format)
    row.due_on = row.issued_on + timedelta(days=parties.seller.payment_terms_days)
    row.parties = parties.stored()
    row.balance = row.total
    row.updated_at = row.posted_at
    paid = settle(row)
    await session.flush()
    document = invoice_document_json(row, parties, today=row.issued_on)
    posted = InvoicePosted(invoice=document, status=row.status.value, balance=document["balance"])
    await outbox.add(session, tenant_id, posted, *paid)
    if row.kind == InvoiceKind.CREDIT_NOTE and settings.auto_apply_credit_notes:
        await apply_to_corrected(session, outbox, row, today=row.issued_on, now=row.posted_at)
    return ShownInvoice(row, parties)
