"""Invoice documents: loading, the public JSON shape, posting with gapless numbers, voiding.

Balances: an invoice or an adjustment is posted with balance = total, payments lower it, and
it is ``paid`` at 0. A credit note is posted with its negative total as balance: what the
MSP owes the customer; it takes no payments (applying or refunding it happens outside).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.documents.parties import Parties, parties_of
from services.invoicing.models import InvoiceRow, NumberSequenceRow
from services.invoicing.settings import InvoicingSettings
from shared.db import dialect_of, insert
from shared.money import minor_units
from shared.problems import Conflict, NotFound

PAYABLE = ("invoice", "adjustment")


async def load_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, *, lock: bool = False
) -> InvoiceRow:
    query = (
        select(InvoiceRow)
        .options(selectinload(InvoiceRow.lines))
        .where(InvoiceRow.id == invoice_id, InvoiceRow.tenant_id == tenant_id)
    )
    if lock and dialect_of(session) == "postgresql":
        query = query.with_for_update(of=InvoiceRow)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return row


def money(amount: Decimal, currency: str) -> Decimal:
    """An amount with exactly the currency's minor digits ("50.00", "1235" for JPY)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def quantity(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


def price(value: Decimal, currency: str) -> Decimal:
    """A unit price without trailing zeros, but never fewer digits than the currency's."""
    digits = max(minor_units(currency), -int(value.normalize().as_tuple().exponent))
    return value.quantize(Decimal(1).scaleb(-digits))


def rate(value: Decimal) -> Decimal:
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal if isinstance(exponent, int) and exponent <= 0 else normal.quantize(Decimal(1))


def utc(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without their zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def invoice_json(
    row: InvoiceRow, parties: Parties | None = None, *, lines: bool = True
) -> dict[str, Any]:
    """The public shape; with ``parties``, the seller and customer blocks too."""
    cur = row.currency
    body: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "kind": row.kind,
        "corrects": row.corrects,
        "company_id": row.company_id,
        "period": row.period,
        "currency": row.currency,
        "status": row.status,
        "lines": [
            {
                "id": line.id,
                "contract_id": line.contract_id,
                "service_code": line.service_code,
                "description": line.description,
                "quantity": quantity(line.quantity),
                "unit_price": price(line.unit_price, cur),
                "amount": money(line.amount, cur),
                "sources": [
                    {**s, "quantity": quantity(Decimal(s["quantity"]))}
                    for s in json.loads(line.sources)
                ],
            }
            for line in row.lines
        ]
        if lines
        else [],
        "subtotal": money(row.subtotal, cur),
        "tax_rate": rate(row.tax_rate),
        "tax": money(row.tax, cur),
        "total": money(row.total, cur),
        "balance": money(row.balance, cur),
        "issued_on": row.issued_on,
        "due_on": row.due_on,
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
        "posted_at": utc(row.posted_at),
    }
    if parties is not None:
        seller, customer = parties.seller, parties.customer
        body["seller"] = {
            "name": seller.name,
            "address": seller.address,
            "tax_id": seller.tax_id,
            "email": seller.email,
        }
        body["customer"] = {
            "company_id": customer.company_id,
            "name": customer.name,
            "external_ref": customer.external_ref,
        }
    return body


async def next_number(session: AsyncSession, tenant_id: str) -> int:
    """The tenant's next invoice number; the row lock makes concurrent posts wait in line,
    and a rolled-back post gives its number back, so the sequence stays gapless."""
    table = cast(Table, NumberSequenceRow.__table__)
    await session.execute(
        insert(table, dialect_of(session))
        .values(tenant_id=tenant_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    number = await session.scalar(
        update(table)
        .where(table.c.tenant_id == tenant_id)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    assert number is not None
    return int(number)


def issue_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


async def post(
    session: AsyncSession, row: InvoiceRow, timezone: str, settings: InvoicingSettings
) -> Parties:
    """Numbers and freezes the draft: invoice date (in the tenant's zone), due date from the
    seller's payment terms, seller and customer as they are now."""
    if row.status != "draft":
        raise Conflict(f"Only a draft can be posted; this invoice is {row.status}.")
    if row.corrects is not None:
        corrected = await session.get(InvoiceRow, row.corrects)
        if corrected is None or corrected.status not in ("posted", "paid"):
            raise Conflict("The invoice this document corrects is no longer posted.")
    parties = await parties_of(session, row, settings)
    row.number = await next_number(session, row.tenant_id)
    row.status, row.posted_at = "posted", datetime.now(UTC)
    row.issued_on = issue_date(row.posted_at, timezone)
    row.due_on = row.issued_on + timedelta(days=parties.seller.payment_terms_days)
    row.parties = parties.to_json()
    row.balance = row.total
    row.updated_at = row.posted_at
    await session.flush()
    return parties


async def void(session: AsyncSession, row: InvoiceRow) -> None:
    """A draft, or a posted document without payments. A posted invoice takes its waiting
    correction along; one with posted corrections is refused (void those first), so that
    the next billing run can invoice the period afresh without counting anything twice."""
    if row.status not in ("draft", "posted"):
        raise Conflict(f"Only a draft or a posted invoice can be voided; it is {row.status}.")
    if row.status == "posted" and row.balance != row.total:
        raise Conflict("An invoice with payments cannot be voided.")
    now = datetime.now(UTC)
    if row.kind == "invoice" and row.status == "posted":
        corrections = list(
            await session.scalars(
                select(InvoiceRow).where(InvoiceRow.corrects == row.id, InvoiceRow.status != "void")
            )
        )
        posted = sorted(c.number for c in corrections if c.number is not None)
        if posted:
            raise Conflict(
                "This invoice has posted corrections; void them first: "
                f"numbers {', '.join(map(str, posted))}."
            )
        for draft in corrections:
            draft.status, draft.balance, draft.updated_at = "void", Decimal(0), now
    row.status, row.balance = "void", Decimal(0)
    row.updated_at = now
    await session.flush()
