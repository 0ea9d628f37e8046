"""Credit notes applied to invoices or refunded, and the aging report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from services.invoicing.api.deps import Caller, Runtime, Today
from services.invoicing.api.document_schemas import InvoiceSummary, invoice_summary
from services.invoicing.documents.formatting import money
from services.invoicing.documents.queries import ListedInvoice, company_name
from services.invoicing.models import InvoiceRow
from services.invoicing.receivables import aging, credit
from shared.openapi_docs import ApiModel, examples
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["receivables"])
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=4)]


class ApplicationIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {"invoice_id": "0b6f8f52-3c1e-4a57-9d0e-6a3c2f1b7e45", "amount": "19.50"}
        ),
    )
    invoice_id: str = Field(min_length=1, max_length=36)
    """The posted invoice or adjustment of the same company and currency to reduce."""
    amount: Amount
    """The credit to apply, positive; at most the credit note's ``unapplied`` and the
    invoice's balance."""


class ApplicationOut(ApiModel):
    id: str
    """The application's id."""
    credit_note_id: str
    """The credit note whose credit was applied."""
    invoice_id: str
    """The invoice it was applied to."""
    amount: Decimal
    """The credit applied, in the currency's minor digits."""
    currency: str
    """The ISO 4217 currency of both documents."""
    applied_on: date
    """The day the credit was applied (tenant's zone)."""
    automatic: bool
    """Whether posting the credit note applied it to the invoice it corrects."""
    created_at: UtcDateTime
    """When the application was recorded."""
    credit_note: InvoiceSummary
    """After the application: its ``unapplied`` credit and status."""
    invoice: InvoiceSummary
    """After the application: its balance and status."""


class RefundIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {"amount": "19.50", "paid_on": "2026-05-04", "reference": "REFUND-2026-0504-3"}
        ),
    )
    amount: Amount
    """The credit paid out, positive; at most the credit note's ``unapplied``."""
    paid_on: date | None = None
    """Default: today in the tenant's zone; never after today nor before the credit note's
    posting date (422)."""
    reference: str | None = Field(default=None, min_length=1, max_length=200)
    """The bank reference of the refund."""


class RefundOut(ApiModel):
    id: str
    """The refund's id."""
    credit_note_id: str
    """The credit note refunded."""
    amount: Decimal
    """The credit paid out, in the currency's minor digits."""
    currency: str
    """The credit note's ISO 4217 currency."""
    paid_on: date
    """The day the money was paid out."""
    reference: str | None
    """The bank reference of the refund."""
    created_at: UtcDateTime
    """When the refund was recorded."""
    credit_note: InvoiceSummary
    """After the refund: its ``unapplied`` credit and status."""


class AgingRowOut(ApiModel):
    company_id: str
    """The company owing."""
    company_name: str
    """Its name."""
    currency: str
    """The ISO 4217 currency of the row's amounts."""
    current: Decimal
    """Open balances not yet due."""
    days_1_30: Decimal
    """Open balances 1 to 30 days past their due date."""
    days_31_60: Decimal
    """Open balances 31 to 60 days past their due date."""
    days_61_90: Decimal
    """Open balances 61 to 90 days past their due date."""
    days_over_90: Decimal
    """Open balances more than 90 days past their due date."""
    total: Decimal
    """The sum of the five buckets: what the company owes in this currency."""
    unapplied_credit: Decimal
    """Credit notes' credit not yet applied or refunded (owed to the company; not in the
    buckets)."""


class AgingOut(ApiModel):
    as_of: date
    """The day the balances are taken at."""
    items: list[AgingRowOut]
    """One row per company and currency with an open balance or unapplied credit."""


def _summary(row: InvoiceRow, today: date) -> InvoiceSummary:
    return invoice_summary(ListedInvoice(row, company_name(row, None)), today)


@router.post(
    "/invoices/{credit_note_id}/applications",
    status_code=201,
    response_model=ApplicationOut,
    summary="Apply a credit note to an invoice",
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


@router.post(
    "/invoices/{credit_note_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund a credit note's credit",
)
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


@router.get("/receivables/aging", response_model=AgingOut, summary="Age the open balances")
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
