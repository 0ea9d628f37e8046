"""Vendor bills: what each vendor charged for a module and period. A second bill for the
same module and period replaces the first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.models import VendorBillRow
from shared.clock import Clock, utc_now


@dataclass(frozen=True)
class BillLine:
    metric: str
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class VendorBill:
    module: str
    period: str
    currency: str
    lines: tuple[BillLine, ...]
    received_at: datetime | None = None


def _bill(row: VendorBillRow) -> VendorBill:
    return VendorBill(
        row.module,
        row.period,
        row.currency,
        tuple(
            BillLine(x["metric"], Decimal(x["quantity"]), Decimal(x["unit_cost"]))
            for x in row.lines
        ),
        row.received_at,
    )


async def record_bills(
    session: AsyncSession, tenant_id: str, bills: Sequence[VendorBill], clock: Clock = utc_now
) -> list[VendorBill]:
    """Stores each bill in place of an earlier one for its module and period."""
    now = clock()
    out = []
    for bill in bills:
        row = await session.get(VendorBillRow, (tenant_id, bill.module, bill.period))
        if row is None:
            row = VendorBillRow(tenant_id=tenant_id, module=bill.module, period=bill.period)
            session.add(row)
        row.currency = bill.currency
        row.lines = [
            {"metric": x.metric, "quantity": str(x.quantity), "unit_cost": str(x.unit_cost)}
            for x in bill.lines
        ]
        row.received_at = now
        out.append(_bill(row))
    await session.flush()
    return out


async def period_bills(
    session: AsyncSession, tenant_id: str, period: str | None = None
) -> list[VendorBill]:
    """The tenant's bills (of one period), by period and module."""
    query = select(VendorBillRow).where(VendorBillRow.tenant_id == tenant_id)
    if period is not None:
        query = query.where(VendorBillRow.period == period)
    rows = await session.scalars(query.order_by(VendorBillRow.period, VendorBillRow.module))
    return [_bill(row) for row in rows]
