"""An invoice with everything its files show: the row and its lines, seller and customer,
and the number of the invoice a correction corrects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.documents.lifecycle import NUMBERED
from services.invoicing.documents.parties import Parties, SellerDefaults, parties_of
from services.invoicing.models import InvoiceRow


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: InvoiceRow
    parties: Parties
    corrects_number: int | None
    corrects_issued_on: date | None = None
    """The corrected invoice's date, for printing its number."""


async def invoice_document(
    session: AsyncSession, row: InvoiceRow, defaults: SellerDefaults
) -> InvoiceDocument:
    corrects_number, corrects_issued_on = None, None
    if row.corrects is not None:
        corrected = (
            await session.execute(
                select(InvoiceRow.number, InvoiceRow.issued_on).where(InvoiceRow.id == row.corrects)
            )
        ).first()
        if corrected is not None:
            corrects_number, corrects_issued_on = corrected
    parties = await parties_of(session, row, defaults)
    return InvoiceDocument(row, parties, corrects_number, corrects_issued_on)


async def period_documents(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    defaults: SellerDefaults,
    *,
    include_void: bool = False,
) -> list[InvoiceDocument]:
    """Every numbered document of the period in number order: posted and paid ones, and
    with ``include_void`` those voided after posting (so the numbers show no gap)."""
    query = (
        select(InvoiceRow)
        .options(selectinload(InvoiceRow.lines))
        .where(
            InvoiceRow.tenant_id == tenant_id,
            InvoiceRow.period == period,
            InvoiceRow.number.is_not(None),
        )
        .order_by(InvoiceRow.number)
    )
    if not include_void:
        query = query.where(InvoiceRow.status.in_(NUMBERED))
    rows = list(await session.scalars(query))
    numbers = {row.id: row.number for row in rows}
    documents = []
    for row in rows:
        corrects_number = numbers.get(row.corrects) if row.corrects else None
        if row.corrects and corrects_number is None:
            corrects_number = await session.scalar(
                select(InvoiceRow.number).where(InvoiceRow.id == row.corrects)
            )
        documents.append(
            InvoiceDocument(row, await parties_of(session, row, defaults), corrects_number)
        )
    return documents
