"""Revenue assurance's read use cases: the reconciliation of a period and its margin
report."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, column, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.margin import CompanyMargin, CurrencyTotal, margins
from services.invoicing.assurance.reconciliation import ReconciliationRow, reconcile
from services.invoicing.assurance.unit_shares import usage_shares
from services.invoicing.assurance.vendor_bills import period_bills
from services.invoicing.documents.lifecycle import InvoiceStatus
from services.invoicing.models import CompanyRow, InvoiceLineRow, InvoiceRow, Quantity
from services.invoicing.runs.service import SORT_MEMORY
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


def _billed_services(tenant_id: str, period: str, dialect: str) -> Select[Any]:
    """The period's documents that are not void as :data:`.margin.BilledService` rows: the
    revenue per company, currency and service, and the billed quantity of each metric
    (from the lines' sources, summed per company and currency) with the service that bills
    most of it."""
    i = InvoiceRow.__table__.c
    line = InvoiceLineRow.__table__.c
    lines = (
        select(i.company_id, i.currency, line.service_code, line.amount, line.sources)
        .join(InvoiceRow.__table__, i.id == line.invoice_id)
        .where(i.tenant_id == tenant_id, i.period == period, i.status != InvoiceStatus.VOID)
        .cte("lines")
    )
    if dialect == "postgresql":
        # Each line's sources parsed once, into typed columns.
        source = (
            func.json_to_recordset(lines.c.sources)
            .table_valued(
                column("module", String), column("metric", String), column("quantity", Quantity)
            )
            .render_derived(name="source", with_types=True)
            .lateral()
        )

        def field(name: str) -> ColumnElement[Any]:
            return source.c[name]
    else:
        source = func.json_each(lines.c.sources).table_valued("value")

        def field(name: str) -> ColumnElement[Any]:
            return func.json_extract(source.c.value, f"$.{name}")

    owner = (lines.c.company_id, lines.c.currency)
    sources = (
        select(
            *owner,
            lines.c.service_code,
            field("module").label("module"),
            field("metric").label("metric"),
            cast(field("quantity"), Quantity).label("quantity"),
        )
        .select_from(lines)
        .join(source, true())
        .subquery()
    )
    keys = (
        sources.c.company_id,
        sources.c.currency,
        sources.c.module,
        sources.c.metric,
        sources.c.service_code,
    )
    per_metric = (
        select(*keys, func.sum(sources.c.quantity).label("quantity")).group_by(*keys).subquery()
    )
    ranked = select(
        per_metric,
        func.row_number()
        .over(
            partition_by=(
                per_metric.c.company_id,
                per_metric.c.currency,
                per_metric.c.module,
                per_metric.c.metric,
            ),
            order_by=(per_metric.c.quantity.desc(), per_metric.c.service_code),
        )
        .label("rank"),
    ).subquery()
    revenue = (
        select(*owner, lines.c.service_code, func.sum(lines.c.amount).label("revenue"))
        .group_by(*owner, lines.c.service_code)
        .subquery()
    )
    return (
        select(
            revenue.c.company_id,
            revenue.c.currency,
            revenue.c.service_code,
            revenue.c.revenue,
            ranked.c.module,
            ranked.c.metric,
            ranked.c.quantity,
        )
        .select_from(revenue)
        .outerjoin(
            ranked,
            and_(
                ranked.c.rank == 1,
                ranked.c.company_id == revenue.c.company_id,
                ranked.c.currency == revenue.c.currency,
                ranked.c.service_code == revenue.c.service_code,
            ),
        )
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building the report keeps hundreds of thousands of small objects alive and makes no
    garbage: the cycle collector would walk them again and again (a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def margin_report(session: AsyncSession, tenant_id: str, period: str) -> MarginReport:
    """Revenue of every document of the period that is not void (drafts included, so the
    report can be read before posting; corrections add their differences)."""
    bills = await period_bills(session, tenant_id, period)
    if dialect_of(session) == "postgresql":
        # The aggregates stay in memory, and compiling them just in time costs more than
        # running them.
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        await session.execute(text("SET LOCAL jit = off"))
    billed = await session.execute(_billed_services(tenant_id, period, dialect_of(session)))
    with _collector_paused():
        companies, totals = margins(billed, bills)
    rows = await session.execute(
        select(CompanyRow.id, CompanyRow.name).where(CompanyRow.tenant_id == tenant_id)
    )
    names = {company_id: name for company_id, name in rows}
    return MarginReport(period, companies, names, totals)
