"""The aging report: per company and currency, what is open on posted invoices and
adjustments as of a day, in buckets by days past the due date.

As of a past day the report shows that day's books: documents posted by then, less the
payments received by then (unless reversed by then) and the credit applied by then. Credit
notes' unapplied credit is shown beside the buckets (``unapplied_credit``), not in them: it
is owed to the customer, not by them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.formatting import money
from services.invoicing.documents.lifecycle import NUMBERED, PAYABLE, InvoiceKind
from services.invoicing.documents.queries import company_name
from services.invoicing.models import (
    CompanyRow,
    CreditApplicationRow,
    CreditRefundRow,
    InvoiceRow,
    PaymentRow,
)

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


def bucket(days_past_due: int) -> str:
    """``current`` until the due date, then by days past it."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "days_1_30"
    if days_past_due <= 60:
        return "days_31_60"
    if days_past_due <= 90:
        return "days_61_90"
    return "days_over_90"


@dataclass(frozen=True)
class OpenDocument:
    company_id: str
    company_name: str
    currency: str
    kind: InvoiceKind
    due_on: date
    open: Decimal
    """Invoices and adjustments: the open balance; credit notes: the unapplied credit."""


@dataclass
class AgingRow:
    company_id: str
    company_name: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, Decimal(0)))
    unapplied_credit: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))


def age(documents: Iterable[OpenDocument], as_of: date) -> list[AgingRow]:
    """Rows by company name, company and currency; only those with something open."""
    rows: dict[tuple[str, str], AgingRow] = {}
    for doc in documents:
        if doc.open == 0:
            continue
        key = (doc.company_id, doc.currency)
        row = rows.setdefault(key, AgingRow(doc.company_id, doc.company_name, doc.currency))
        if doc.kind == InvoiceKind.CREDIT_NOTE:
            row.unapplied_credit += doc.open
        else:
            row.buckets[bucket((as_of - doc.due_on).days)] += doc.open
    for row in rows.values():
        row.buckets = {k: money(v, row.currency) for k, v in row.buckets.items()}
        row.unapplied_credit = money(row.unapplied_credit, row.currency)
    return sorted(rows.values(), key=lambda r: (r.company_name, r.company_id, r.currency))


async def _sums(session: AsyncSession, query: Any) -> dict[str, Decimal]:
    return {key: Decimal(total) for key, total in (await session.execute(query)).all()}


async def open_documents(session: AsyncSession, tenant_id: str, as_of: date) -> list[OpenDocument]:
    """Every document posted by ``as_of`` (and not voided since) with what was open on it
    that day."""
    pay, app, ref = PaymentRow, CreditApplicationRow, CreditRefundRow
    paid = await _sums(
        session,
        select(pay.invoice_id, func.sum(pay.amount))
        .where(
            pay.tenant_id == tenant_id,
            pay.received_on <= as_of,
            or_(pay.reversed_on.is_(None), pay.reversed_on > as_of),
        )
        .group_by(pay.invoice_id),
    )
    applied_to = await _sums(
        session,
        select(app.invoice_id, func.sum(app.amount))
        .where(app.tenant_id == tenant_id, app.applied_on <= as_of)
        .group_by(app.invoice_id),
    )
    applied_from = await _sums(
        session,
        select(app.credit_note_id, func.sum(app.amount))
        .where(app.tenant_id == tenant_id, app.applied_on <= as_of)
        .group_by(app.credit_note_id),
    )
    refunded = await _sums(
        session,
        select(ref.credit_note_id, func.sum(ref.amount))
        .where(ref.tenant_id == tenant_id, ref.paid_on <= as_of)
        .group_by(ref.credit_note_id),
    )
    found = await session.execute(
        select(InvoiceRow, CompanyRow.name)
        .outerjoin(CompanyRow, CompanyRow.id == InvoiceRow.company_id)
        .where(
            InvoiceRow.tenant_id == tenant_id,
            InvoiceRow.status.in_(NUMBERED),
            InvoiceRow.issued_on <= as_of,
        )
    )
    documents = []
    for row, current_name in found.all():
        zero = Decimal(0)
        if row.kind in PAYABLE:
            open_ = row.total - paid.get(row.id, zero) - applied_to.get(row.id, zero)
        else:
            open_ = -row.total - applied_from.get(row.id, zero) - refunded.get(row.id, zero)
        documents.append(
            OpenDocument(
                row.company_id,
                company_name(row, current_name),
                row.currency,
                row.kind,
                row.due_on or as_of,
                open_,
            )
        )
    return documents


async def aging_report(session: AsyncSession, tenant_id: str, as_of: date) -> list[AgingRow]:
    return age(await open_documents(session, tenant_id, as_of), as_of)
