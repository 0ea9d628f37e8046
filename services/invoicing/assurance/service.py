"""Revenue assurance's read use cases: the reconciliation of a period and its margin
report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, case, cast, column, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.margin import CompanyMargin, CurrencyTotal, margins
from services.invoicing.assurance.reconciliation import ReconciliationRow, reconcile
from services.invoicing.assurance.unit_shares import usage_shares
from services.invoicing.assurance.vendor_bills import period_bills
from services.invoicing.documents.lifecycle import InvoiceStatus
from services.invoicing.models import CompanyRow, InvoiceLineRow, InvoiceRow, Quantity
from shared.collector import collector_paused
from shared.db import dialect_of
from shared.wire import period_days


@dataclass(frozen=True)
class Reconciliation:
    period: str
    days: int
    rows: list[ReconciliationRow]


@dataclass(frozen=True)
class MarginReport:
    period: str
    companies: list[CompanyMargin]
    company_names: dict[str, str]
    totals: list[CurrencyTotal]


async def reconciliation(session: AsyncSession, tenant_id: str, period: str) -> Reconciliation:
    start, end = period_days(period)
    days = (end - start).days + 1
    usage = await usage_shares(session, tenant_id, start, end)
    bills = await period_bills(session, tenant_id, period)
    vendor = {(b.module, x.metric): x.quantity for b in bills for x in b.lines}
    rows = reconcile(usage, vendor, {b.module for b in bills}, days)
    return Reconciliation(period, days, rows)


def _billed_sources(tenant_id: str, period: str, dialect: str) -> Select[Any]:
    """The sources of the lines of the period's documents that are not void, as
    :data:`.margin.BilledSource` rows: each line's sources parsed in the database, once
    (the rows go out as they are; aggregating them there costs more than it saves)."""
    i = InvoiceRow.__table__.c
    line = InvoiceLineRow.__table__.c
    if dialect == "postgresql":
        source = (
            func.json_to_recordset(line.sources)
            .table_valued(
                column("module", String), column("metric", String), column("quantity", Quantity)
            )
            .render_derived(name="source", with_types=True)
            .lateral()
        )
        fields: tuple[ColumnElement[Any], ...] = (
            source.c.module,
            source.c.metric,
            source.c.quantity,
        )
    else:
        source = func.json_each(line.sources).table_valued("value")
        fields = (
            func.json_extract(source.c.value, "$.module"),
            func.json_extract(source.c.value, "$.metric"),
            cast(func.json_extract(source.c.value, "$.quantity"), Quantity),
        )
    return (
        select(
            case((func.json_array_length(line.sources) > 1, line.id)),
            i.company_id,
            i.currency,
            line.service_code,
            line.amount,
            *fields,
        )
        .select_from(InvoiceLineRow.__table__)
        .join(InvoiceRow.__table__, i.id == line.invoice_id)
        .outerjoin(source, true())
        .where(i.tenant_id == tenant_id, i.period == period, i.status != InvoiceStatus.VOID)
    )


async def margin_report(session: AsyncSession, tenant_id: str, period: str) -> MarginReport:
    """Revenue of every document of the period that is not void (drafts included, so the
    report can be read before posting; corrections add their differences)."""
    bills = await period_bills(session, tenant_id, period)
    if dialect_of(session) == "postgresql":
        # Compiling the query just in time costs more than running it.
        await session.execute(text("SET LOCAL jit = off"))
    with collector_paused():
        billed = await session.execute(_billed_sources(tenant_id, period, dialect_of(session)))
        companies, totals = margins(billed, bills)
    rows = await session.execute(
        select(CompanyRow.id, CompanyRow.name).where(CompanyRow.tenant_id == tenant_id)
    )
    names = {company_id: name for company_id, name in rows}
    return MarginReport(period, companies, names, totals)
