"""Invoice documents: loading, the public JSON shape, posting with gapless numbers, voiding."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.money import minor_units
from services.invoicing.models import InvoiceRow, NumberSequenceRow
from shared.db import insert
from shared.problems import Conflict, NotFound


async def load_invoice(
    session: AsyncSession, tenant_id: str, invoice_id: str, *, lock: bool = False
) -> InvoiceRow:
    query = select(InvoiceRow).options(selectinload(InvoiceRow.lines)).where(
        InvoiceRow.id == invoice_id, InvoiceRow.tenant_id == tenant_id)
    if lock and session.bind.dialect.name == "postgresql":
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
    return normal if normal.as_tuple().exponent <= 0 else normal.quantize(Decimal(1))


def invoice_json(row: InvoiceRow, *, lines: bool = True) -> dict[str, Any]:
    cur = row.currency
    return {
        "id": row.id, "number": row.number, "kind": row.kind, "corrects": row.corrects,
        "company_id": row.company_id, "period": row.period, "currency": row.currency,
        "status": row.status,
        "lines": [
            {
                "id": line.id, "contract_id": line.contract_id,
                "service_code": line.service_code, "description": line.description,
                "quantity": quantity(line.quantity), "unit_price": price(line.unit_price, cur),
                "amount": money(line.amount, cur), "sources": json.loads(line.sources),
            }
            for line in row.lines
        ] if lines else [],
        "subtotal": money(row.subtotal, cur), "tax_rate": rate(row.tax_rate),
        "tax": money(row.tax, cur), "total": money(row.total, cur),
        "balance": money(row.balance, cur),
        "created_at": row.created_at, "updated_at": row.updated_at, "posted_at": row.posted_at,
    }


async def next_number(session: AsyncSession, tenant_id: str) -> int:
    """The tenant's next invoice number; the row lock makes concurrent posts wait in line,
    and a rolled-back post gives its number back, so the sequence stays gapless."""
    table = NumberSequenceRow.__table__
    await session.execute(
        insert(table, session.bind.dialect.name)
        .values(tenant_id=tenant_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    number = await session.scalar(
        update(table).where(table.c.tenant_id == tenant_id)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    assert number is not None
    return int(number)


async def post(session: AsyncSession, row: InvoiceRow) -> None:
    if row.status != "draft":
        raise Conflict(f"Only a draft can be posted; this invoice is {row.status}.")
    row.number = await next_number(session, row.tenant_id)
    row.status, row.posted_at = "posted", datetime.now(UTC)
    row.balance = row.total
    row.updated_at = row.posted_at
    await session.flush()


def void(row: InvoiceRow) -> None:
    if row.status not in ("draft", "posted"):
        raise Conflict(f"Only a draft or a posted invoice can be voided; it is {row.status}.")
    if row.status == "posted" and row.balance != row.total:
        raise Conflict("An invoice with payments cannot be voided.")
    row.status, row.balance = "void", Decimal(0)
    row.updated_at = datetime.now(UTC)
