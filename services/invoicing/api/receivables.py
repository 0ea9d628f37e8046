"""Credit notes applied to invoices or refunded, and the aging report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.deps import Caller, Runtime, Today
from services.invoicing.api.document_schemas import InvoiceSummary, invoice_summary
from services.invoicing.documents.formatting import money
from services.invoicing.documents.queries import ListedInvoice, company_name
from services.invoicing.models import InvoiceRow
from services.invoicing.receivables import aging, credit
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["receivables"])
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=4)]


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    invoice_id: str = Field(min_length=1, max_length=36)
    amount: Amount


class ApplicationOut(BaseModel):
    id: str
    credit_note_id: str
    invoice_id: str
    amount: Decimal
    currency: str
    applied_on: date
    automatic: bool
    created_at: UtcDateTime
    credit_note: InvoiceSummary
    """After the application: its ``unapplied`` credit and status."""
    invoice: InvoiceSummary
    """After the application: its balance and status."""


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount: Amount
    paid_on: date | None = None
    """Default: today in the tenant's zone; never after today nor before the credit note's
    posting date (422)."""
    reference: str | None = Field(default=None, min_length=1, max_length=200)


class RefundOut(BaseModel):
    id: str
    credit_note_id: str
    amount: Decimal
    currency: str
    paid_on: date
    reference: str | None
    created_at: UtcDateTime
    credit_note: InvoiceSummary
    """After the refund: its ``unapplied`` credit and status."""


class AgingRowOut(BaseModel):
    company_id: str
    company_name: str
    currency: str
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal
    """The sum of the five buckets: what the company owes in this currency."""
    unapplied_credit: Decimal
    """Credit notes' credit not yet applied or refunded (owed to the company; not in the
    buckets)."""


class AgingOut(BaseModel):
    as_of: date
    items: list[AgingRowOut]


def _summary(row: InvoiceRow, today: date) -> InvoiceSummary:
    return invoice_summary(ListedInvoice(row, company_name(row, None)), today)


@router.post(
    "/invoices/{credit_note_id}/applications", status_code=201, response_model=ApplicationOut
)
async def apply_credit(
    credit_note_id: str, body: ApplicationIn, ctx: Caller, runtime: Runtime, today: Today
) -> ApplicationOut:
    """Applies credit of a posted credit note to a posted invoice or adjustment of the same
    company and currency: the amount may exceed neither the credit note's ``unapplied`` nor
    the invoice's balance (409). The invoice is ``paid`` at 0; publishes
    ``credit_note.applied``."""
    async with runtime.transaction() as session:
        done = await credit.apply_credit(
            session,
            runtime.outbox,
            ctx.tenant_id,
            credit_note_id,
            body.invoice_id,
            body.amount,
            timezone=ctx.timezone,
        )
    row = done.application
    return ApplicationOut(
        id=row.id,
        credit_note_id=row.credit_note_id,
        invoice_id=row.invoice_id,
        amount=money(row.amount, done.credit_note.currency),
        currency=done.credit_note.currency,
        applied_on=row.applied_on,
        automatic=row.automatic,
        created_at=row.created_at,
        credit_note=_summary(done.credit_note, today),
        invoice=_summary(done.invoice, today),
    )


@router.post("/invoices/{credit_note_id}/refunds", status_code=201, response_model=RefundOut)
async def refund_credit(
    credit_note_id: str, body: RefundIn, ctx: Caller, runtime: Runtime, today: Today
) -> RefundOut:
    """Pays unapplied credit of a posted credit note out to the customer (at most its
    ``unapplied``, else 409); publishes ``credit_note.refunded``."""
    async with runtime.transaction() as session:
        done = await credit.refund_credit(
            session,
            runtime.outbox,
            ctx.tenant_id,
            credit_note_id,
            body.amount,
            paid_on=body.paid_on,
            reference=body.reference,
            timezone=ctx.timezone,
        )
    row = done.refund
    return RefundOut(
        id=row.id,
        credit_note_id=row.credit_note_id,
        amount=money(row.amount, done.credit_note.currency),
        currency=done.credit_note.currency,
        paid_on=row.paid_on,
        reference=row.reference,
        created_at=row.created_at,
        credit_note=_summary(done.credit_note, today),
    )


@router.get("/receivables/aging", response_model=AgingOut)
async def aging_report(
    ctx: Caller,
    runtime: Runtime,
    today: Today,
    as_of: Annotated[date | None, Query()] = None,
) -> AgingOut:
    """Per company and currency, the open balances of posted invoices and adjustments as of
    ``as_of`` (default: today in the tenant's zone), in buckets by days past the due date."""
    day = as_of or today
    async with runtime.sessions() as session:
        rows = await aging.aging_report(session, ctx.tenant_id, day)
    return AgingOut(
        as_of=day,
        items=[
            AgingRowOut(
                company_id=r.company_id,
                company_name=r.company_name,
                currency=r.currency,
                **r.buckets,
                total=r.total,
                unapplied_credit=r.unapplied_credit,
            )
            for r in rows
        ],
    )
