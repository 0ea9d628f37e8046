"""A billing run reads its usage with one query on PostgreSQL (per company, through the
``ix_units_company_day`` index) and another on SQLite (one aggregate of the month). On the
same unit table both must bill exactly the same documents: the same contracts, the same
3 days of carry-forward, nothing from older history, unmapped or unserviced rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.invoicing.documents import payments, posting, queries, voiding
from services.invoicing.documents.exports import files
from services.invoicing.documents.lifecycle import InvoiceStatus, TransitionRefused
from services.invoicing.documents.parties import SellerDefaults
from services.invoicing.documents.queries import InvoiceFilter
from services.invoicing.documents.shape import invoice_document_json
from services.invoicing.models import (
    SCHEMA,
    Base,
    CompanyRow,
    ContractRow,
    ContractServiceRow,
    InvoiceLineRow,
    InvoiceRow,
    ModuleBillingRow,
    UnitRow,
)
from services.invoicing.runs.compute import Terms
from services.invoicing.runs.inputs import load_terms
from services.invoicing.runs.service import run_billing
from services.invoicing.units.service import NO_SERVICE
from shared.db import create_all, create_engine, is_sqlite, session_factory, sqlite_url
from shared.events import Event, InvoicePosted
from shared.migrations import alembic_config
from shared.outbox import Outbox
from shared.pagination import PageParams
from shared.workers import WorkerPool

PERIOD = "2026-03"
TENANT = str(uuid.UUID(int=1))
MODULES = {"datto_rmm": "servers", "datto_bcdr": "protected_tb", "kaseya_vsa": "agents"}
GRADUATED = [{"up_to": "10", "unit_price": "3.00"}, {"up_to": None, "unit_price": "1.25"}]
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def _companies(n: int) -> list[str]:
    return [str(uuid.UUID(int=1000 + i)) for i in range(n)]


def _contracts(companies: list[str]) -> list[Any]:
    """Every company but the last two has a contract; one starts mid-month, one ended in
    the month, one bills in JPY and one carries only a service nobody feeds."""
    rows: list[Any] = []
    for i, company in enumerate(companies[:-2]):
        contract_id = str(uuid.UUID(int=5000 + i))
        start = date(2026, 3, 15) if i % 5 == 1 else date(2025, 6, 1)
        end = date(2026, 3, 20) if i % 5 == 2 else None
        rows.append(
            ContractRow(
                id=contract_id,
                tenant_id=TENANT,
                company_id=company,
                name=f"Plan {i}",
                start_date=start,
                end_date=end,
                currency="JPY" if i % 5 == 3 else "EUR",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        codes = ["UNUSED"] if i % 5 == 4 else [*MODULES, "UNUSED"]
        for position, code in enumerate(codes):
            graduated = position % 2 == 1
            rows.append(
                ContractServiceRow(
                    id=str(uuid.uuid5(uuid.UUID(contract_id), code)),
                    contract_id=contract_id,
                    position=position,
                    service_code=code,
                    name=f"Service {code}",
                    unit_price=Decimal("2.125"),
                    counting_basis=("daily", "monthly_peak", "monthly_last")[position % 3],
                    pricing_model="graduated" if graduated else "per_unit",
                    tiers=GRADUATED if graduated else [],
                    minimum_units=Decimal(2) if code == "datto_rmm" else Decimal(0),
                )
            )
        if i % 5 == 0:  # amended from the 10th: RMM dearer, backup graduated
            for position, (code, price) in enumerate([("datto_rmm", "2.5"), ("datto_bcdr", "1")]):
                rows.append(
                    ContractServiceRow(
                        id=str(uuid.uuid5(uuid.UUID(contract_id), f"{code}/amended")),
                        contract_id=contract_id,
                        position=position,
                        service_code=code,
                        name=f"Service {code}",
                        unit_price=Decimal(price),
                        counting_basis="daily",
                        pricing_model="graduated" if position else "per_unit",
                        tiers=GRADUATED if position else [],
                        minimum_units=Decimal(0),
                        effective_from=date(2026, 3, 10),
                    )
                )
    return rows


def _units(companies: list[str]) -> list[UnitRow]:
    """Two orgs per company and module, from two months before the period to its end; one
    module silent on days 9 and 10; some rows unmapped, excluded or feeding no service."""
    rng = random.Random(7)
    first = date(2026, 1, 1)
    rows = []
    for ci, company in enumerate(companies):
        for module, metric in MODULES.items():
            for org in range(2):
                for offset in range(90):
                    day = first + timedelta(days=offset)
                    if day > date(2026, 3, 31):
                        break
                    if module == "datto_bcdr" and day in (date(2026, 3, 9), date(2026, 3, 10)):
                        continue
                    status, code = "mapped", module
                    roll = rng.random()
                    if roll < 0.03:
                        status, code = "unmapped", NO_SERVICE
                    elif roll < 0.05:
                        code = NO_SERVICE
                    rows.append(
                        UnitRow(
                            tenant_id=TENANT,
                            module=module,
                            org_id=f"{module}-{ci}-{org}",
                            metric=metric,
                            day=day,
                            service_code=code,
                            status=status,
                            company_id=company if status == "mapped" else None,
                            quantity=Decimal(rng.randrange(0, 4000)) / 100,
                            version=1,
                        )
                    )
    return rows


def _reference_rows(companies: list[str]) -> list[Any]:
    rows: list[Any] = [
        CompanyRow(
            id=c,
            tenant_id=TENANT,
            name=f"Company {i}",
            external_ref=None,
            tax_rate=Decimal("0.19") if i % 2 else Decimal(0),
            currency=None,
        )
        for i, c in enumerate(companies)
    ]
    rows += [
        ModuleBillingRow(tenant_id=TENANT, module=m, enabled=True, effective_from=date(2026, 1, 1))
        for m in MODULES
    ]
    return rows


async def _billed(url: str, companies: list[str], workers: int) -> list[tuple[Any, ...]]:
    """The documents a run bills on a fresh database at ``url``, schema made as in production
    (Alembic) or in the embedded mode (SQLite: from the models)."""
    engine = create_engine(url, SCHEMA)
    if is_sqlite(url):
        await create_all(engine, Base.metadata)
    else:
        await asyncio.to_thread(command.upgrade, alembic_config("invoicing", url), "head")
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            session.add_all(_reference_rows(companies) + _contracts(companies))
            session.add_all(_units(companies))
        pool = WorkerPool(workers)
        pool.start()
        try:
            async with sessions() as session, session.begin():
                result = await run_billing(session, TENANT, PERIOD, pool=pool, parallel_from=1)
        finally:
            pool.stop()
        assert result.invoices == len(companies) - 2
        async with sessions() as session:
            return await _documents(session)
    finally:
        await engine.dispose()


async def _documents(session: AsyncSession) -> list[tuple[Any, ...]]:
    i, line = InvoiceRow.__table__.c, InvoiceLineRow.__table__.c
    rows = await session.execute(
        select(
            i.company_id,
            i.currency,
            i.subtotal,
            i.tax,
            i.total,
            line.service_code,
            line.quantity,
            line.unit_price,
            line.amount,
            line.sources,
            line.daily,
        )
        .outerjoin(InvoiceLineRow.__table__, line.invoice_id == i.id)
        .order_by(i.company_id, line.position)
    )
    return [tuple(r) for r in rows]


async def test_postgresql_and_sqlite_runs_bill_the_same(
    fresh_database_url: str, tmp_path: Path
) -> None:
    companies = _companies(12)
    on_postgresql = await _billed(fresh_database_url, companies, workers=2)
    on_sqlite = await _billed(sqlite_url(tmp_path, "invoicing"), companies, workers=1)

    assert on_postgresql == on_sqlite
    billed = {row[0] for row in on_postgresql}
    assert billed == set(companies[:-2])  # usage without a contract bills nothing
    lines = [row for row in on_postgresql if row[5] is not None]
    assert {row[5] for row in lines} == set(MODULES)  # never the unused service
    unused_only = {c for i, c in enumerate(companies[:-2]) if i % 5 == 4}
    assert all(row[2] > 0 for row in on_postgresql if row[0] not in unused_only)
    assert all(row[2] == 0 and row[5] is None for row in on_postgresql if row[0] in unused_only)
    estimated = [row[10] for row in lines if row[5] == "datto_bcdr"]
    assert any(s["estimated"] == [9, 10] for series in estimated for s in series)


async def _empty(url: str) -> AsyncEngine:
    """An engine on the module's database with the schema made and no rows."""
    engine = create_engine(url, SCHEMA)
    if is_sqlite(url):
        await create_all(engine, Base.metadata)
    else:
        await asyncio.to_thread(command.upgrade, alembic_config("invoicing", url), "head")
        async with engine.begin() as connection:
            tables = ", ".join(t.fullname for t in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    return engine


async def _terms(url: str, companies: list[str]) -> Terms:
    engine = await _empty(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add_all(_reference_rows(companies) + _contracts(companies))
            await session.flush()
            return await load_terms(session, TENANT, PERIOD)
    finally:
        await engine.dispose()


async def test_postgresql_and_sqlite_read_the_same_contract_terms(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL lists each contract version's services as one JSON text; SQLite reads
    them row by row. Both give the same contracts, services in their order, amendments."""
    companies = _companies(7)
    on_postgresql = await _terms(fresh_database_url, companies)
    on_sqlite = await _terms(sqlite_url(tmp_path, "invoicing"), companies)
    # repr: the decimals with their digits too (a line's unit price is printed as read)
    assert sorted(map(repr, on_postgresql.contracts.items())) == sorted(
        map(repr, on_sqlite.contracts.items())
    )
    [first] = on_postgresql.contracts[companies[0]]
    assert [s.service_code for s in first.services] == [*MODULES, "UNUSED"]
    [amended] = first.amendments
    assert amended.effective_from == date(2026, 3, 10)
    assert [(s.service_code, s.pricing.unit_price) for s in amended.services] == [
        ("datto_rmm", Decimal("2.5")),
        ("datto_bcdr", Decimal(1)),
    ]
    assert amended.services[1].pricing.tiers[0].unit_price == Decimal(3)


class _RecordingOutbox:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def add(self, session: object, tenant_id: str, *events: Event) -> None:
        self.events.extend(events)


async def _lifecycle(url: str, companies: list[str]) -> list[Any]:
    """Bills the period, then posts, pays and voids through the document use cases; answers
    what every step left, comparable across databases."""
    engine = await _empty(url)
    sessions = session_factory(engine)
    defaults = SellerDefaults("Seller", 30)
    outbox = _RecordingOutbox()
    seen: list[Any] = []
    try:
        async with sessions() as session, session.begin():
            session.add_all(_reference_rows(companies) + _contracts(companies))
            session.add_all(_units(companies))
        async with sessions() as session, session.begin():
            await run_billing(session, TENANT, PERIOD)
        async with sessions() as session:
            page = await queries.list_invoices(
                session,
                TENANT,
                InvoiceFilter(status=InvoiceStatus.DRAFT),
                PageParams(limit=100, cursor=None),
            )
        drafts = sorted(
            (r.invoice for r in page.items if r.invoice.currency == "EUR" and r.invoice.total > 0),
            key=lambda r: r.company_id,
        )
        paid, voided = drafts[0], drafts[1]
        async with sessions() as session, session.begin():
            posted = await posting.post_invoice(
                session, cast(Outbox, outbox), TENANT, paid.id, timezone="UTC", defaults=defaults
            )
        async with sessions() as session:
            shown = await queries.show_invoice(session, TENANT, paid.id, defaults)
            [event] = outbox.events
            assert isinstance(event, InvoicePosted)
            assert event.invoice == invoice_document_json(
                shown.invoice, shown.parties, today=shown.invoice.issued_on
            )
            assert shown.parties.seller.payment_terms_days == 30
        async with sessions() as session, session.begin():
            receipt = await payments.record_payment(
                session,
                cast(Outbox, outbox),
                TENANT,
                paid.id,
                posted.invoice.total,
                received_on=None,
                reference="R-1",
                timezone="UTC",
            )
        async with sessions() as session, session.begin():
            with pytest.raises(TransitionRefused):
                await payments.record_payment(
                    session,
                    cast(Outbox, outbox),
                    TENANT,
                    paid.id,
                    Decimal(1),
                    received_on=None,
                    reference=None,
                    timezone="UTC",
                )
        async with sessions() as session, session.begin():
            void = await voiding.void_invoice(
                session, cast(Outbox, outbox), TENANT, voided.id, defaults=defaults
            )
        async with sessions() as session, session.begin():
            with pytest.raises(TransitionRefused):
                await voiding.void_invoice(
                    session, cast(Outbox, outbox), TENANT, voided.id, defaults=defaults
                )
        async with sessions() as session:
            history = await payments.payment_history(session, TENANT, paid.id)
            line = shown.invoice.lines[0]
            explained = await queries.explain_line(session, TENANT, paid.id, line.id)
            pdf = await files.invoice_file(session, TENANT, paid.id, "pdf", defaults)
            csv_export = await files.period_export(
                session, TENANT, PERIOD, "csv", defaults, today=date.today()
            )
            json_export = await files.period_export(
                session, TENANT, PERIOD, "json", defaults, today=date.today()
            )
        assert isinstance(pdf.content, bytes) and pdf.content.startswith(b"%PDF-")
        assert isinstance(json_export.content, bytes)
        seen += [
            (receipt.invoice.status, receipt.invoice.number, receipt.invoice.balance),
            (void.invoice.status, void.invoice.balance),
            (history.paid, [p.reference for p in history.payments]),
            [(s.module, s.metric, len(s.days)) for s in explained.series],
            str(csv_export.content).count("\n"),
            [i["number"] for i in orjson.loads(json_export.content)["invoices"]],
        ]
        return seen
    finally:
        await engine.dispose()


async def test_document_use_cases_behave_alike_on_postgresql_and_sqlite(
    fresh_database_url: str, tmp_path: Path
) -> None:
    companies = _companies(6)
    on_postgresql = await _lifecycle(fresh_database_url, companies)
    on_sqlite = await _lifecycle(sqlite_url(tmp_path, "invoicing"), companies)

    assert on_postgresql == on_sqlite
    paid, void, history, explained, csv_lines, numbers = on_postgresql
    assert paid[:2] == (InvoiceStatus.PAID, 1) and paid[2] == 0
    assert void == (InvoiceStatus.VOID, 0)
    assert history[1] == ["R-1"]
    assert explained and all(days for _, _, days in explained)
    assert csv_lines > 1 and numbers == [1]
