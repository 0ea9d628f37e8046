"""An invoice with everything its files show: the row and its lines, seller and customer,
and the number of the invoice a correction corrects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.documents.parties import Parties, parties_of
from services.invoicing.models import InvoiceRow
from services.invoicing.settings import InvoicingSettings

NUMBERED = ("posted", "paid")


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: InvoiceRow
    parties: Parties
    corrects_number: int | None


async def invoice_document(
    session: AsyncSession, row: InvoiceRow, settings: InvoicingSettings
) -> InvoiceDocument:
    corrects_number = None
    if row.corrects is not None:
        corrects_number = await session.scalar(
            select(InvoiceRow.number).where(InvoiceRow.id == row.corrects)
        )
    return InvoiceDocument(row, await parties_of(session, row, settings), corrects_number)


async def period_documents(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    settings: InvoicingSettings,
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
            InvoiceDocument(row, await parties_of(session, row, settings), corrects_number)
        )
    return documents
