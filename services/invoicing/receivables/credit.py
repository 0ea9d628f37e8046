"""Credit notes settle: their credit (``unapplied``, the negative balance turned positive) is
applied to posted invoices of the same company and currency, or refunded to the customer.

Both documents of an application are locked in id order, so concurrent applications neither
overdraw a credit note nor an invoice, nor deadlock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.formatting import money
from services.invoicing.documents.lifecycle import PAYABLE, InvoiceKind, InvoiceStatus
from services.invoicing.documents.numbering import issue_date
from services.invoicing.documents.queries import load_invoice, lock_in_order
from services.invoicing.models import CreditApplicationRow, CreditRefundRow, InvoiceRow
from services.invoicing.receivables.amounts import check_amount, check_date
from services.invoicing.receivables.settlement import balance_fields, move, unapplied
from shared.clock import Clock, utc_now
from shared.events import CreditNoteApplied, CreditNoteRefunded
from shared.outbox import Outbox
from shared.problems import Conflict


class CreditExceedsOpenAmount(Conflict):
    slug, title = "credit-exceeds-open-amount", "Credit exceeds what is open"


@dataclass(frozen=True)
class Application:
    application: CreditApplicationRow
    credit_note: InvoiceRow
    invoice: InvoiceRow
    """Both after the application."""


@dataclass(frozen=True)
class Refund:
    refund: CreditRefundRow
    credit_note: InvoiceRow


def _text(amount: Decimal, currency: str) -> str:
    return f"{money(amount, currency)} {currency}"


def _credit_note(row: InvoiceRow) -> Decimal:
    """The credit note's unapplied credit; 409 unless it is a posted credit note."""
    if row.kind != InvoiceKind.CREDIT_NOTE:
        raise Conflict(f"Document {row.id} is a {row.kind}, not a credit note.")
    if row.status == InvoiceStatus.DRAFT or row.status == InvoiceStatus.VOID:
        raise Conflict(f"Only a posted credit note gives credit; this one is {row.status}.")
    credit = unapplied(row)
    assert credit is not None
    return credit


async def _apply(
    session: AsyncSession,
    outbox: Outbox,
    note: InvoiceRow,
    invoice: InvoiceRow,
    amount: Decimal,
    *,
    today: date,
    now: datetime,
    automatic: bool,
) -> Application:
    row = CreditApplicationRow(
        id=str(uuid.uuid4()),
        tenant_id=note.tenant_id,
        credit_note_id=note.id,
        invoice_id=invoice.id,
        amount=amount,
        applied_on=today,
        automatic=automatic,
        created_at=now,
    )
    session.add(row)
    follow = [*move(invoice, -amount, now), *move(note, amount, now)]
    await session.flush()
    credit = unapplied(note)
    assert credit is not None
    applied = CreditNoteApplied(
        **balance_fields(invoice),
        application_id=row.id,
        credit_note_id=note.id,
        amount=money(amount, note.currency),
        applied_on=today,
        automatic=automatic,
        credit_note_status=note.status.value,
        credit_note_balance=money(note.balance, note.currency),
        unapplied=credit,
    )
    await outbox.add(session, note.tenant_id, applied, *follow)
    return Application(row, note, invoice)


async def apply_credit(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    credit_note_id: str,
    invoice_id: str,
    amount: Decimal,
    *,
    timezone: str,
    clock: Clock = utc_now,
) -> Application:
    """Sets ``amount`` of the credit note's credit against the invoice's balance: at most
    what either has open (409), on a posted invoice of the same company and currency."""
    if credit_note_id == invoice_id:
        raise Conflict("A credit note cannot be applied to itself.")
    rows = await lock_in_order(session, tenant_id, [credit_note_id, invoice_id])
    note, invoice = rows[credit_note_id], rows[invoice_id]
    credit = _credit_note(note)
    if invoice.kind not in PAYABLE:
        raise Conflict("Credit applies to an invoice or adjustment, not to another credit note.")
    if invoice.status != InvoiceStatus.POSTED:
        raise Conflict(
            f"Credit applies to a posted invoice with a balance; this one is {invoice.status}."
        )
    if (invoice.company_id, invoice.currency) != (note.company_id, note.currency):
        raise Conflict(
            "Credit applies only to invoices of the credit note's own company and currency "
            f"({note.currency})."
        )
    check_amount(amount, note.currency)
    if amount > credit:
        raise CreditExceedsOpenAmount(
            f"The amount of {_text(amount, note.currency)} is above the credit note's unapplied "
            f"credit of {_text(credit, note.currency)}."
        )
    if amount > invoice.balance:
        raise CreditExceedsOpenAmount(
            f"The amount of {_text(amount, note.currency)} is above the invoice's balance of "
            f"{_text(invoice.balance, invoice.currency)}."
        )
    now = clock()
    today = issue_date(now, timezone)
    return await _apply(
        session, outbox, note, invoice, amount, today=today, now=now, automatic=False
    )


async def apply_to_corrected(
    session: AsyncSession, outbox: Outbox, note: InvoiceRow, *, today: date, now: datetime
) -> Application | None:
    """Posting a credit note: its credit goes to the invoice it corrects, as far as that
    invoice's balance allows (nothing when it is paid already)."""
    if note.kind != InvoiceKind.CREDIT_NOTE or note.corrects is None:
        return None
    corrected = await load_invoice(session, note.tenant_id, note.corrects, lock=True)
    credit = unapplied(note)
    if corrected.status != InvoiceStatus.POSTED or corrected.balance <= 0 or not credit:
        return None
    amount = min(credit, corrected.balance)
    return await _apply(
        session, outbox, note, corrected, amount, today=today, now=now, automatic=True
    )


async def refund_credit(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    credit_note_id: str,
    amount: Decimal,
    *,
    paid_on: date | None,
    reference: str | None,
    timezone: str,
    clock: Clock = utc_now,
) -> Refund:
    """Pays ``amount`` of the unapplied credit out to the customer, on ``paid_on`` (between
    the credit note's posting date and today; default today)."""
    note = await load_invoice(session, tenant_id, credit_note_id, lock=True)
    credit = _credit_note(note)
    now = clock()
    today = issue_date(now, timezone)
    paid_on = paid_on or today
    check_amount(amount, note.currency)
    check_date(paid_on, "paid_on", posted_on=note.issued_on, today=today)
    if amount > credit:
        raise CreditExceedsOpenAmount(
            f"The refund of {_text(amount, note.currency)} is above the credit note's unapplied "
            f"credit of {_text(credit, note.currency)}."
        )
    row = CreditRefundRow(
        id=str(uuid.uuid4()),
        tenant_id=note.tenant_id,
        credit_note_id=note.id,
        amount=amount,
        paid_on=paid_on,
        reference=reference,
        created_at=now,
    )
    session.add(row)
    follow = move(note, amount, now)
    await session.flush()
    left = unapplied(note)
    assert left is not None
    refunded = CreditNoteRefunded(
        **balance_fields(note),
        refund_id=row.id,
        amount=money(amount, note.currency),
        paid_on=paid_on,
        reference=reference,
        unapplied=left,
    )
    await outbox.add(session, tenant_id, refunded, *follow)
    return Refund(row, note)
