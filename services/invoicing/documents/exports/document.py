"""An invoice with everything its files show: the row and its lines, seller and customer,
and the number of the invoice a correction corrects, each number also as printed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.documents.lifecycle import NUMBERED
from services.invoicing.documents.numbering import shown_number
from services.invoicing.documents.parties import Parties, SellerDefaults, parties_of
from services.invoicing.models import InvoiceRow


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: InvoiceRow
    parties: Parties
    corrects_number: int | None
    corrects_display_number: str | None = None
    """The corrected invoice's number as it prints it."""

    @property
    def display_number(self) -> str | None:
        """The document's number as printed (None before posting)."""
        return shown_number(self.invoice)


async def _corrected_numbers(
    session: AsyncSession, corrects: str | None
) -> tuple[int | None, str | None]:
    """The number and printed number of the invoice ``corrects`` names."""
    corrected = None if corrects is None else await session.get(InvoiceRow, corrects)
    if corrected is None:
        return None, None
    return corrected.number, shown_number(corrected)


async def invoice_document(
    session: AsyncSession, row: InvoiceRow, defaults: SellerDefaults
) -> InvoiceDocument:
    corrects_number, corrects_display = await _corrected_numbers(session, row.corrects)
    parties = await parties_of(session, row, defaults)
    return InvoiceDocument(row, parties, corrects_number, corrects_display)


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
    by_id = {row.id: row for row in rows}
    documents = []
    for row in rows:
        corrected = by_id.get(row.corrects) if row.corrects else None
        if corrected is not None:
            numbers = corrected.number, shown_number(corrected)
        else:
            numbers = await _corrected_numbers(session, row.corrects)
        documents.append(InvoiceDocument(row, await parties_of(session, row, defaults), *numbers))
    return documents
