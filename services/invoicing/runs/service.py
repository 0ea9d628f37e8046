"""Billing runs: every company's documents of a period, from the unit table, set-based.

One query streams the month (plus the 3 days before it, for carry-forward) of the companies
with a contract, company by company; the pure billing code
(:mod:`services.invoicing.billing`) turns each company's share into drafts, one per
currency; documents are written in bulk and only when their content changed, so running
again changes nothing. A posted invoice whose period now
computes differently gets a correction document (:mod:`services.invoicing.documents.corrections`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.holds import refresh_holds
from services.invoicing.billing import parse_period
from services.invoicing.documents.content import Content, LineFacts, StoredLine, parse_sources
from services.invoicing.documents.corrections import correction
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.models import BillingRunRow, InvoiceLineRow, InvoiceRow
from services.invoicing.runs.compute import Batch, Biller, Computed, Live, Terms, batches
from services.invoicing.runs.inputs import AGGREGATE_SETTINGS, load_terms, usage_read_ahead
from services.invoicing.runs.writes import DocumentWriter, Target
from shared.db import chunks, dialect_of
from shared.jobs import Progress
from shared.problems import invalid
from shared.workers import WorkerPool

_i = InvoiceRow.__table__.c
POSTED = (InvoiceStatus.POSTED, InvoiceStatus.PAID)
BATCH_COMPANIES = 100


@dataclass(frozen=True)
class RunResult:
    id: str
    period: str
    invoices: int
    """Invoices of the period (one per company and currency with an active contract)."""
    corrections: int
    """Correction documents of the period waiting as drafts after the run."""
    created: int
    updated: int
    """Documents (invoices and corrections) this run created or refreshed."""


@dataclass(frozen=True, slots=True)
class _Doc:
    id: str
    company_id: str
    currency: str
    kind: InvoiceKind
    corrects: str | None
    status: InvoiceStatus
    fingerprint: str
    tax_rate: Decimal


@dataclass
class _Period:
    """The period's documents before the run, and what the run decided so far."""

    live: dict[tuple[str, str], _Doc]
    """(company_id, currency) -> its invoice (kind ``invoice``, not void)"""
    open_corrections: dict[str, _Doc]
    """posted invoice id -> its correction waiting as a draft"""
    corrected: set[str]
    """ids of the posted invoices that have a correction (draft or posted)"""
    computed: set[tuple[str, str]] = field(default_factory=set)
    recheck: dict[str, Content | None] = field(default_factory=dict)
    """posted invoice id -> what its period computes now (None: nothing)"""
    drafts: dict[str, LineFacts] = field(default_factory=dict)
    """regular draft id -> its lines as the run computed them (written or unchanged), as its
    holds judge them"""
    created: int = 0
    updated: int = 0


def check_period_started(period: str, today: date) -> None:
    """A period is billed once its first day has come (``today`` in the tenant's zone): a
    future month has no usage, and its drafts would only be refreshed again and again."""
    start, _ = parse_period(period)
    if start > today:
        raise invalid(
            ["body", "period"],
            f"{period} has not begun: its first day {start.isoformat()} lies after today "
            f"({today.isoformat()})",
        )


async def _lock(session: AsyncSession, tenant_id: str, period: str) -> None:
    """One run per tenant and period at a time; the period's drafts stay ours until commit
    (a concurrent post of one of them waits, then posts what this run wrote)."""
    if dialect_of(session) != "postgresql":
        return  # SQLite: one writer at a time anyway
    for setting in AGGREGATE_SETTINGS:  # for the queries of the run's own connection
        await session.execute(text(setting))
    await session.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtextextended(f"billing-run:{tenant_id}:{period}", 0)
            )
        )
    )
    await session.execute(
        select(_i.id)
        .where(_i.tenant_id == tenant_id, _i.period == period, _i.status == InvoiceStatus.DRAFT)
        .with_for_update()
    )


async def _period_documents(session: AsyncSession, tenant_id: str, period: str) -> _Period:
    state = _Period({}, {}, set())
    rows = await session.execute(
        select(
            _i.id,
            _i.company_id,
            _i.currency,
            _i.kind,
            _i.corrects,
            _i.status,
            _i.fingerprint,
            _i.tax_rate,
        ).where(_i.tenant_id == tenant_id, _i.period == period, _i.status != InvoiceStatus.VOID)
    )
    for row in rows:
        doc = _Doc(*row)
        if doc.kind == InvoiceKind.INVOICE:
            state.live[(doc.company_id, doc.currency)] = doc
        elif doc.corrects is not None:
            state.corrected.add(doc.corrects)
            if doc.status == InvoiceStatus.DRAFT:
                state.open_corrections[doc.corrects] = doc
    return state


def _live(state: _Period) -> Live:
    """The period's invoices as the billing sees them: per company and currency, the id and
    (of a draft) the fingerprint."""
    live: Live = defaultdict(dict)
    for (company_id, currency), doc in state.live.items():
        stored = doc.fingerprint if doc.status == InvoiceStatus.DRAFT else None
        live[company_id][currency] = (doc.id, stored)
    return dict(live)


def _apply(
    state: _Period, writer: DocumentWriter, company_id: str, computed: list[Computed]
) -> None:
    """A company's computed drafts against its documents: create, refresh, leave alone, or
    (posted) recheck for a correction."""
    for draft in computed:
        key = (company_id, draft.currency)
        state.computed.add(key)
        live = state.live.get(key)
        if live is not None and live.status != InvoiceStatus.DRAFT:  # posted
            if live.fingerprint != draft.fingerprint or live.id in state.corrected:
                state.recheck[live.id] = draft.content
            continue
        if live is None:
            writer.add(Target(company_id, draft.currency), draft)
            state.created += 1
        elif live.fingerprint != draft.fingerprint:
            writer.replace(InvoiceKind.INVOICE, draft)
            state.updated += 1
        state.drafts[draft.invoice_id] = draft.facts


async def _invoiced_lines(
    session: AsyncSession, invoice_ids: list[str]
) -> dict[str, list[StoredLine]]:
    """Per posted invoice, its lines and those of its posted corrections."""
    line = InvoiceLineRow.__table__.c
    out: dict[str, list[StoredLine]] = defaultdict(list)
    for part in chunks(invoice_ids, 1000):
        query = (
            select(
                func.coalesce(_i.corrects, _i.id),
                line.contract_id,
                line.service_code,
                line.description,
                line.quantity,
                line.unit_price,
                line.amount,
                line.sources,
            )
            .join(InvoiceRow.__table__, _i.id == line.invoice_id)
            .where(or_(_i.id.in_(part), _i.corrects.in_(part)), _i.status.in_(POSTED))
            .order_by(_i.number, line.position)
        )
        for (
            invoice_id,
            contract_id,
            code,
            label,
            quantity,
            price,
            amount,
            sources,
        ) in await session.execute(query):
            out[invoice_id].append(
                StoredLine(
                    contract_id, code, label, quantity, price, amount, parse_sources(sources), "[]"
                )
            )
    return out


async def _correct(session: AsyncSession, state: _Period, writer: DocumentWriter) -> int:
    """Writes the corrections of the posted invoices to recheck; answers how many wait as
    drafts for the period."""
    posted = {doc.id: doc for doc in state.live.values() if doc.status in POSTED}
    invoiced = await _invoiced_lines(session, list(state.recheck))
    waiting = len(set(state.open_corrections) - set(state.recheck))
    for invoice_id, content in state.recheck.items():
        doc = posted[invoice_id]
        found = correction(content, invoiced[invoice_id], doc.tax_rate, doc.currency)
        current = state.open_corrections.get(invoice_id)
        if found is None:
            if current is not None:
                writer.delete(current.id)
            continue
        waiting += 1
        if current is None:
            writer.create(
                Target(doc.company_id, doc.currency, found.kind, invoice_id), found.content
            )
            state.created += 1
        elif current.fingerprint != found.content.fingerprint() or current.kind != found.kind:
            writer.refresh(current.id, found.kind, found.content)
            state.updated += 1
    return waiting


async def _bill(
    session: AsyncSession,
    tenant_id: str,
    terms: Terms,
    state: _Period,
    writer: DocumentWriter,
    biller: Biller,
    progress: Progress,
) -> None:
    """Streams the companies' usage to the biller and applies what comes back, in order."""
    companies = sorted(terms.contracts)  # usage without a contract bills nothing
    progress.report(0, len(companies))
    billed = 0

    async def collect(everything: bool) -> None:
        nonlocal billed
        while biller.waiting and (everything or biller.busy):
            for company_id, drafts in await biller.oldest():
                _apply(state, writer, company_id, drafts)
                billed += 1
            progress.report(billed)
            await writer.flush_if_full()

    unbilled = set(companies)
    batch: Batch = []
    async with usage_read_ahead(
        session, tenant_id, terms.period, companies, BATCH_COMPANIES
    ) as usage:
        async for company_id, rows in usage:
            unbilled.discard(company_id)
            batch.append((company_id, rows))
            if len(batch) == BATCH_COMPANIES:
                biller.send(batch)
                batch = []
                await collect(everything=False)
    if batch:
        biller.send(batch)
    for no_usage in batches(sorted(unbilled), BATCH_COMPANIES):  # invoices of 0
        biller.send(no_usage)
        await collect(everything=False)
    await collect(everything=True)


async def run_billing(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    *,
    pool: WorkerPool | None = None,
    parallel_from: int = 1000,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Bills the period in ``session`` (the caller commits). The companies are billed in
    ``pool`` when there are at least ``parallel_from`` of them with an active contract,
    otherwise in a thread. ``progress`` learns how many companies are billed so far."""
    await _lock(session, tenant_id, period)
    terms = await load_terms(session, tenant_id, period)
    state = await _period_documents(session, tenant_id, period)
    now = datetime.now(UTC)
    writer = DocumentWriter(session, tenant_id, period, now)
    parallel = (
        pool is not None
        and pool.running
        and pool.size > 1
        and len(terms.contracts) >= parallel_from
    )
    encode = dialect_of(session) == "postgresql"  # line rows as COPY text
    biller = Biller(terms, _live(state), pool if parallel else None, encode)
    try:
        await _bill(session, tenant_id, terms, state, writer, biller, progress or Progress())
    finally:
        biller.cancel()
    for key, doc in state.live.items():
        if key in state.computed:
            continue
        if doc.status == InvoiceStatus.DRAFT:  # no contract left in the period
            writer.delete(doc.id)
        else:  # a posted period that bills nothing now: credit all of it
            state.recheck[doc.id] = None
    corrections = (
        await _correct(session, state, writer) if state.recheck or state.open_corrections else 0
    )
    await writer.flush()
    await refresh_holds(session, tenant_id, period, known=state.drafts)
    run = BillingRunRow(
        id=run_id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        period=period,
        invoices=len(state.computed),
        corrections=corrections,
        created_at=now,
    )
    session.add(run)
    await session.flush()
    return RunResult(run.id, period, len(state.computed), corrections, state.created, state.updated)
