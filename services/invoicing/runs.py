"""Billing runs: compute every company's drafts for a period from the unit table, set-based.

One aggregate query reads the month (plus the 3 days before it, for carry-forward); the
pure billing code turns each company's share into drafts; drafts are written only when their
content changed, so running again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.billing import (
    MAX_CARRIED_DAYS,
    Contract,
    InvoiceDraft,
    Line,
    ServiceTerms,
    compute_invoices,
    parse_period,
)
from services.invoicing.contract_terms import service_pricing
from services.invoicing.models import (
    BillingRunRow,
    CompanyRow,
    ContractRow,
    InvoiceLineRow,
    InvoiceRow,
    ModuleBillingRow,
    UnitRow,
)

Usage = dict[str, dict[tuple[str, str], dict[date, Decimal]]]


@dataclass(frozen=True)
class RunResult:
    id: str
    period: str
    invoices: int
    corrections: int
    created: int
    updated: int


async def _contracts(session: AsyncSession, tenant_id: str, start: date, end: date
                     ) -> dict[str, list[Contract]]:
    rows = await session.scalars(
        select(ContractRow).options(selectinload(ContractRow.services)).where(
            ContractRow.tenant_id == tenant_id,
            ContractRow.start_date <= end,
            or_(ContractRow.end_date.is_(None), ContractRow.end_date >= start),
        )
    )
    by_company: dict[str, list[Contract]] = defaultdict(list)
    for row in rows:
        by_company[row.company_id].append(Contract(
            contract_id=row.id, name=row.name, currency=row.currency,
            start_date=row.start_date, end_date=row.end_date,
            services=tuple(
                ServiceTerms(
                    service_code=s.service_code, name=s.name, pricing=service_pricing(s),
                    counting_basis=s.counting_basis,  # type: ignore[arg-type]
                    minimum_units=s.minimum_units,
                )
                for s in row.services
            ),
        ))
    return by_company


async def _usage(session: AsyncSession, tenant_id: str, start: date, end: date
                 ) -> tuple[dict[str, Usage], dict[str, set[date]]]:
    u = UnitRow.__table__.c
    in_window = (u.tenant_id == tenant_id, u.day >= start, u.day <= end)
    query = (
        select(u.company_id, u.service_code, u.module, u.metric, u.day, func.sum(u.quantity))
        .where(*in_window, u.status == "mapped", u.service_code != "")
        .group_by(u.company_id, u.service_code, u.module, u.metric, u.day)
    )
    usage: dict[str, Usage] = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for company_id, code, module, metric, day, quantity in await session.execute(query):
        usage[company_id][code][(module, metric)][day] = Decimal(quantity)
    module_days: dict[str, set[date]] = defaultdict(set)
    for module, day in await session.execute(select(u.module, u.day).where(*in_window).distinct()):
        module_days[module].add(day)
    return usage, module_days


def fingerprint(draft: InvoiceDraft) -> str:
    return hashlib.sha256(json.dumps(_content(draft), sort_keys=True).encode()).hexdigest()


def _content(draft: InvoiceDraft) -> dict[str, object]:
    return {
        "subtotal": str(draft.subtotal), "tax": str(draft.tax), "tax_rate": str(draft.tax_rate),
        "lines": [_line_json(line) for line in draft.lines],
    }


def _line_json(line: Line) -> dict[str, object]:
    return {
        "contract_id": line.contract_id, "service_code": line.service_code,
        "description": line.description, "quantity": str(line.quantity),
        "unit_price": str(line.unit_price), "amount": str(line.amount),
        "sources": [[s.module, s.metric, str(s.quantity)] for s in line.sources],
        "daily": _daily_json(line),
    }


def _daily_json(line: Line) -> list[dict[str, object]]:
    return [
        {"module": s.module, "metric": s.metric,
         "days": [[p.day.isoformat(), str(p.quantity), p.estimated] for p in s.days]}
        for s in line.daily
    ]


def line_rows(invoice_id: str, lines: Sequence[Line]) -> list[InvoiceLineRow]:
    return [
        InvoiceLineRow(
            # Stable ids: the same service line keeps its id while the draft is refreshed.
            id=str(uuid.uuid5(uuid.UUID(invoice_id), f"{line.contract_id}/{line.service_code}")),
            invoice_id=invoice_id, position=i, contract_id=line.contract_id,
            service_code=line.service_code, description=line.description,
            quantity=line.quantity, unit_price=line.unit_price, amount=line.amount,
            sources=json.dumps([{"module": s.module, "metric": s.metric,
                                 "quantity": str(s.quantity)} for s in line.sources]),
            daily=json.dumps(_daily_json(line)),
        )
        for i, line in enumerate(lines)
    ]


async def _write_draft(
    session: AsyncSession, tenant_id: str, company_id: str, draft: InvoiceDraft,
    existing: InvoiceRow | None, now: datetime,
) -> str:
    """'created', 'updated', 'unchanged' or 'frozen' (posted: corrections handle it)."""
    print_ = fingerprint(draft)
    if existing is not None and existing.status != "draft":
        return "frozen"
    if existing is not None and existing.fingerprint == print_:
        return "unchanged"
    if existing is None:
        existing = InvoiceRow(
            id=str(uuid.uuid4()), tenant_id=tenant_id, company_id=company_id,
            period=draft.period, currency=draft.currency, kind="invoice", corrects=None,
            status="draft", number=None, created_at=now, posted_at=None,
        )
        session.add(existing)
        outcome = "created"
    else:
        await session.execute(delete(InvoiceLineRow).where(InvoiceLineRow.invoice_id == existing.id))
        outcome = "updated"
    existing.subtotal, existing.tax_rate = draft.subtotal, draft.tax_rate
    existing.tax, existing.total, existing.balance = draft.tax, draft.total, draft.total
    existing.fingerprint, existing.updated_at = print_, now
    await session.flush()
    session.add_all(line_rows(existing.id, draft.lines))
    return outcome


async def run_billing(session: AsyncSession, tenant_id: str, period: str) -> RunResult:
    start, end = parse_period(period)
    contracts = await _contracts(session, tenant_id, start, end)
    usage, module_days = await _usage(
        session, tenant_id, start - timedelta(days=MAX_CARRIED_DAYS), end
    )
    enabled_from = {
        row.module: row.effective_from if row.enabled else None
        for row in await session.scalars(
            select(ModuleBillingRow).where(ModuleBillingRow.tenant_id == tenant_id))
    }
    companies = {
        row.id: row for row in await session.scalars(
            select(CompanyRow).where(CompanyRow.tenant_id == tenant_id,
                                     CompanyRow.id.in_(list(contracts))))
    } if contracts else {}
    existing = {
        (row.company_id, row.currency): row for row in await session.scalars(
            select(InvoiceRow).where(
                InvoiceRow.tenant_id == tenant_id, InvoiceRow.period == period,
                InvoiceRow.kind == "invoice", InvoiceRow.status != "void"))
    }
    now = datetime.now(UTC)
    counts: dict[str, int] = defaultdict(int)
    live: set[tuple[str, str]] = set()
    for company_id, company_contracts in contracts.items():
        company = companies.get(company_id)
        tax_rate = company.tax_rate if company is not None else Decimal(0)
        for draft in compute_invoices(period, company_contracts, tax_rate,
                                      usage.get(company_id, {}), module_days, enabled_from):
            key = (company_id, draft.currency)
            live.add(key)
            outcome = await _write_draft(session, tenant_id, company_id, draft,
                                         existing.get(key), now)
            counts[outcome] += 1
    stale = [row.id for key, row in existing.items() if key not in live and row.status == "draft"]
    if stale:
        await session.execute(delete(InvoiceLineRow).where(InvoiceLineRow.invoice_id.in_(stale)))
        await session.execute(delete(InvoiceRow).where(InvoiceRow.id.in_(stale)))
    run = BillingRunRow(id=str(uuid.uuid4()), tenant_id=tenant_id, period=period,
                        invoices=len(live), corrections=0, created_at=now)
    session.add(run)
    await session.flush()
    return RunResult(run.id, period, len(live), 0, counts["created"], counts["updated"])
