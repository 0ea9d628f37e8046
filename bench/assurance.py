"""Reconciliation and margin at scale: a month of 25 modules for many companies.

The database is filled as for the billing run's bench (:mod:`bench.billing`: companies,
contracts, 25 modules x the month and the 3 days before it in the unit table) at the schema
before the monthly sums (``usage_months``), which the migration creating them then fills
(timed); the month is billed once (the documents the margin reads), a vendor bill is
recorded per module, then ``GET /v1/reconciliation`` and ``GET /v1/reports/margin``'s use
cases are timed, each twice (cold, then warm caches).

``python -m bench.assurance --companies 10000`` (PostgreSQL from ``ICB_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bench.billing import PERIOD, _dsn, fill
from services.invoicing.assurance import service
from services.invoicing.assurance.vendor_bills import BillLine, VendorBill, record_bills
from services.invoicing.models import SCHEMA
from services.invoicing.runs.service import run_billing
from services.invoicing.settings import InvoicingSettings
from shared.catalog import CATALOG
from shared.db import create_engine, session_factory
from shared.migrations import alembic_config
from shared.workers import WorkerPool, worker_count

MONTHLY_SUMS = "0012_usage_months"
"""The migration creating and filling ``usage_months`` from the unit table."""


def _bills(period: str) -> list[VendorBill]:
    return [
        VendorBill(
            m.id,
            period,
            "EUR",
            tuple(BillLine(x.id, Decimal(1000 * (i + 1)), Decimal("0.75")) for x in m.metrics),
        )
        for i, m in enumerate(CATALOG.modules)
    ]


async def _timed(
    sessions: Callable[[], Any], use_case: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[float, Any]:
    started = time.perf_counter()
    async with sessions() as session:
        result = await use_case(session)
    return time.perf_counter() - started, result


async def assurance_bench(
    companies: int = 10000, *, period: str = PERIOD, database_url: str | None = None
) -> dict[str, Any]:
    base = database_url or InvoicingSettings().database_url
    name = f"icb_bench_assurance_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(base))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        config = alembic_config("invoicing", url)
        before = ScriptDirectory.from_config(config).get_revision(MONTHLY_SUMS).down_revision
        await asyncio.to_thread(command.upgrade, config, str(before))
        tenant_id = str(uuid.uuid4())
        filled = await fill(_dsn(base, name), tenant_id, companies, period)
        started = time.perf_counter()
        await asyncio.to_thread(command.upgrade, config, "head")
        summed_seconds = round(time.perf_counter() - started, 2)
        engine = create_engine(url, SCHEMA)
        sessions = session_factory(engine)
        pool = WorkerPool(worker_count(InvoicingSettings().billing_workers))
        pool.start()
        try:
            async with sessions() as session, session.begin():
                await run_billing(session, tenant_id, period, pool=pool)
                await record_bills(session, tenant_id, _bills(period))
            timings: dict[str, list[float]] = {"reconciliation": [], "margin": []}
            for _ in range(2):
                seconds, recon = await _timed(
                    sessions, lambda s: service.reconciliation(s, tenant_id, period)
                )
                timings["reconciliation"].append(round(seconds, 2))
                seconds, margin = await _timed(
                    sessions, lambda s: service.margin_report(s, tenant_id, period)
                )
                timings["margin"].append(round(seconds, 2))
        finally:
            pool.stop()
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "companies": companies,
        "period": period,
        "unit_rows": filled["unit_rows"],
        "monthly_sums_migration_seconds": summed_seconds,
        "reconciliation_rows": len(recon.rows),
        "reconciliation_seconds": timings["reconciliation"],
        "margin_companies": len(margin.companies),
        "margin_seconds": timings["margin"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.assurance")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--period", default=PERIOD)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(assurance_bench(args.companies, period=args.period)), indent=2))


if __name__ == "__main__":
    main()
