"""Reading invoice documents: one with its lines, a filtered list, and the daily quantities
behind a line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.billing import parse_period
from services.invoicing.documents.content import DailySeries, parse_daily
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.parties import Parties, SellerDefaults, parties_of
from services.invoicing.models import CompanyRow, InvoiceLineRow, InvoiceRow
from services.invoicing.pages import RowPage
from services.invoicing.receivables.overdue import overdue_clause
from shared.db import dialect_of
from shared.pagination import PageParams, paginate
from shared.problems import NotFound


@dataclass(frozen=True)
class ShownInvoice:
    """An invoice with its lines and the seller and customer it shows."""

    invoice: InvoiceRow
    parties: Parties


@dataclass(frozen=True)
class InvoiceFilter:
    period: str | None = None
    company_id: str | None = None
    status: InvoiceStatus | None = None
    kind: InvoiceKind | None = None
    overdue: bool | None = None
    today: date | None = None
    """The tenant's today, for ``overdue``."""


@dataclass(frozen=True)
class ListedInvoice:
    """An invoice without its lines, with the name of its company."""

    invoice: InvoiceRow
    company_name: str


@dataclass(frozen=True)
class LineExplanation:
    """For a correction line: the recomputed series the correction brings the period to."""

    invoice: InvoiceRow
    line: InvoiceLineRow
    series: list[DailySeries]


async def _sqlite_write_lock(session: AsyncSession, tenant_id: str, invoice_id: str) -> None:
    """SQLite has no row locks and reads outside a transaction: a write that changes nothing
    opens the transaction with the database's write lock (waiting for another writer to
    commit), so what is read next is the latest and stays so until commit."""
    table = cast(Table, InvoiceRow.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == invoice_id, table.c.tenant_id == tenant_id)
        .values(id=table.c.id)
    )


async def load_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, *, lock: bool = False
) -> InvoiceRow:
    """With its lines; ``lock`` holds the row until commit (posting, voiding, payments)."""
    query = (
        select(InvoiceRow)
        .options(selectinload(InvoiceRow.lines))
        .where(InvoiceRow.id == invoice_id, InvoiceRow.tenant_id == tenant_id)
    )
    if lock and dialect_of(session) == "postgresql":
        query = query.with_for_update(of=InvoiceRow)
    elif lock:
        await _sqlite_write_lock(session, tenant_id, invoice_id)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return row


async def lock_in_order(
    session: AsyncSession, tenant_id: str, invoice_ids: list[str]
) -> dict[str, InvoiceRow]:
    """Loads and locks several documents in id order, so that use cases holding two of them
    (posting a credit note, applying credit) never wait on each other in a circle."""
    return {i: await load_invoice(session, tenant_id, i, lock=True) for i in sorted(invoice_ids)}


async def show_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, defaults: SellerDefaults
) -> ShownInvoice:
    row = await load_invoice(session, tenant_id, invoice_id)
    return ShownInvoice(row, await parties_of(session, row, defaults))


def company_name(invoice: InvoiceRow, current: str | None) -> str:
    """The name the invoice shows its company by: frozen at posting, else ``current`` (the
    replica's; empty while the company's event has not arrived)."""
    if invoice.parties is not None:
        return Parties.from_stored(invoice.parties).customer.name
    return current or ""


async def list_invoices(
    session: AsyncSession, tenant_id: str, where: InvoiceFilter, paging: PageParams
) -> RowPage[ListedInvoice]:
    """Without their lines, with the names they show their companies by."""
    query = cast(
        Select[Any],
        select(InvoiceRow, CompanyRow.name)
        .outerjoin(CompanyRow, CompanyRow.id == InvoiceRow.company_id)
        .where(InvoiceRow.tenant_id == tenant_id),
    )
    for column, value in (
        (InvoiceRow.period, where.period),
        (InvoiceRow.company_id, where.company_id),
        (InvoiceRow.status, where.status),
        (InvoiceRow.kind, where.kind),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.overdue is not None:
        assert where.today is not None
        query = query.where(overdue_clause(where.today, where.overdue))
    page = await paginate(
        session,
        query,
        [InvoiceRow.id.expression],
        paging,
        lambda r: ListedInvoice(r[0], company_name(r[0], r[1])),
        lambda r: (r[0].id,),
    )
    return RowPage(page.items, page.next_cursor)


async def explain_line(
    session: AsyncSession, tenant_id: str, invoice_id: str, line_id: str
) -> LineExplanation:
    """The daily quantities behind a line, per source, with estimated days marked."""
    row = await load_invoice(session, tenant_id, invoice_id)
    line = next((x for x in row.lines if x.id == line_id), None)
    if line is None:
        raise NotFound(f"No line {line_id} on invoice {invoice_id}.")
    start, _ = parse_period(row.period)
    return LineExplanation(row, line, parse_daily(line.daily, start))
