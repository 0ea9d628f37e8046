"""The billing run at scale: a month of 25 modules for many companies, straight in PostgreSQL.

No service runs: a fresh database gets invoicing's schema (Alembic), then a bulk fill
(``COPY``) of what invoicing's consumers would have built: the companies replica from the
sample generator (names, tax rates, currencies), the module billing replica, one contract
per company priced from the sample plan (per_unit, graduated, volume; daily, monthly_peak,
monthly_last), and the unit table: every company uses every module of the catalog every day
of the period and the 3 days before it, one module missing 2 days (estimated). Then
``runs.run_billing`` is timed in one transaction, and again (nothing changed: the idempotent
path), in the service's long-lived process pool (started before, its processes spawned by
the first run). Peak memory is the resident set of the process and its billing workers,
sampled during the run.

``python -m bench.billing --companies 10000`` (PostgreSQL from ``ICB_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.stack import high_water_mb
from services.invoicing.billing import MAX_CARRIED_DAYS, parse_period
from services.invoicing.models import SCHEMA, InvoiceLineRow, InvoiceRow
from services.invoicing.runs.service import run_billing
from services.invoicing.settings import InvoicingSettings
from shared.catalog import CATALOG
from shared.db import create_engine, session_factory
from shared.migrations import alembic_config
from shared.workers import WorkerPool, worker_count
from tools.sample import SampleService, generate

PERIOD = "2026-01"
MISSING_MODULE = "datto_bcdr"
MISSING_DAYS = (10, 11)
"""Days of the period (1-based) on which ``MISSING_MODULE`` sent nothing."""
COPY_CHUNK = 200_000


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def plan(services: tuple[SampleService, ...]) -> dict[str, tuple[str, SampleService]]:
    """Per catalog module, the metric it reports here (its first) and the service it feeds."""
    by_source = {source: s for s in services for source in s.sources}
    out: dict[str, tuple[str, SampleService]] = {}
    for module in CATALOG.modules:
        metric = module.metrics[0].id
        out[module.id] = (metric, by_source[(module.id, metric)])
    return out


def _contract_services(contract_id: str, services: list[SampleService]) -> list[tuple[Any, ...]]:
    return [
        (
            str(uuid.uuid4()),
            contract_id,
            i,
            s.service_code,
            s.name,
            s.unit_price,
            s.counting_basis,
            s.pricing,
            json.dumps(
                [
                    {
                        "up_to": None if t.up_to is None else str(t.up_to),
                        "unit_price": str(t.unit_price),
                    }
                    for t in s.tiers
                ]
            ),
            s.minimum_units,
        )
        for i, s in enumerate(services)
    ]


def _units(
    tenant_id: str,
    company_ids: list[str],
    modules: dict[str, tuple[str, SampleService]],
    period: str,
) -> Iterator[tuple[Any, ...]]:
    start, end = parse_period(period)
    first = start - timedelta(days=MAX_CARRIED_DAYS)
    days = [first + timedelta(days=i) for i in range((end - first).days + 1)]
    missing = {start + timedelta(days=d - 1) for d in MISSING_DAYS}
    small = [Decimal(i) for i in range(5000)]
    for ci, company_id in enumerate(company_ids):
        size = 1 + (ci * 7919) % 180
        for mi, (module, (metric, service)) in enumerate(modules.items()):
            org_id = f"{module[:4]}-{ci}"
            base = size * (1 + mi % 4)
            for di, day in enumerate(days):
                if module == MISSING_MODULE and day in missing:
                    continue
                quantity = small[base + (di * (mi + 3) + ci) % 7]
                yield (
                    tenant_id,
                    module,
                    org_id,
                    metric,
                    day,
                    service.service_code,
                    "mapped",
                    company_id,
                    quantity,
                    1,
                )


async def _copy(
    conn: asyncpg.Connection, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    total = 0
    while True:
        chunk = [row for _, row in zip(range(COPY_CHUNK), rows, strict=False)]
        if not chunk:
            return total
        await conn.copy_records_to_table(table, schema_name=SCHEMA, columns=columns, records=chunk)
        total += len(chunk)


async def fill(dsn: str, tenant_id: str, companies: int, period: str) -> dict[str, int]:
    msp = generate(seed=11, companies=companies, period=period)
    modules = plan(msp.price_list())
    distinct = {s.service_code: s for _, s in modules.values()}
    services = list(distinct.values())
    start, _ = parse_period(period)
    now = datetime.now(UTC)
    company_ids = [str(uuid.uuid4()) for _ in msp.companies]
    contract_ids = [str(uuid.uuid4()) for _ in msp.companies]
    conn = await asyncpg.connect(dsn)
    try:
        await _copy(
            conn,
            "companies",
            ["id", "tenant_id", "name", "external_ref", "tax_rate", "currency"],
            iter(
                [
                    (cid, tenant_id, c.name, c.external_ref, c.tax_rate, c.currency)
                    for cid, c in zip(company_ids, msp.companies, strict=True)
                ]
            ),
        )
        await _copy(
            conn,
            "module_billing",
            ["tenant_id", "module", "enabled", "effective_from"],
            iter([(tenant_id, m, True, start - timedelta(days=90)) for m in modules]),
        )
        await _copy(
            conn,
            "contracts",
            [
                "id",
                "tenant_id",
                "company_id",
                "name",
                "start_date",
                "end_date",
                "currency",
                "created_at",
                "updated_at",
            ],
            iter(
                [
                    (
                        k,
                        tenant_id,
                        cid,
                        "Managed services",
                        start - timedelta(days=200),
                        None,
                        c.currency,
                        now,
                        now,
                    )
                    for k, cid, c in zip(contract_ids, company_ids, msp.companies, strict=True)
                ]
            ),
        )
        await _copy(
            conn,
            "contract_services",
            [
                "id",
                "contract_id",
                "position",
                "service_code",
                "name",
                "unit_price",
                "counting_basis",
                "pricing_model",
                "tiers",
                "minimum_units",
            ],
            (row for k in contract_ids for row in _contract_services(k, services)),
        )
        units = await _copy(
            conn,
            "units",
            [
                "tenant_id",
                "module",
                "org_id",
                "metric",
                "day",
                "service_code",
                "status",
                "company_id",
                "quantity",
                "version",
            ],
            _units(tenant_id, company_ids, modules, period),
        )
        # The steady state: autovacuum has seen the month's rows (a table filled day by day
        # is vacuumed as it grows), so the run reads the unit index without heap visits.
        await conn.execute(f"VACUUM (ANALYZE) {SCHEMA}.units")
    finally:
        await conn.close()
    return {"unit_rows": units, "services_per_contract": len(services), "modules": len(modules)}


def _peaks_mb(process: psutil.Process) -> dict[int, int]:
    """The highest resident set (``VmHWM``) of the process and of each of its children (the
    billing workers) since each started or was reset, in MB, by process id."""
    out: dict[int, int] = {}
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(OSError):  # ended in between
            out[each.pid] = high_water_mb(each.pid)
    return out


def _reset_peaks(process: psutil.Process) -> None:
    """Starts the processes' high-water marks again from their present resident sets (what
    the filling held is not the run's)."""
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(OSError):
            Path(f"/proc/{each.pid}/clear_refs").write_text("5")


@contextmanager
def peak_rss() -> Iterator[dict[str, Any]]:
    """The resident set before the block, and each process's peak during it (the kernel's
    high-water marks, read once the block is left: sampling would cost the run CPU)."""
    process = psutil.Process()
    _reset_peaks(process)
    result: dict[str, Any] = {"before_mb": process.memory_info().rss / 2**20}
    yield result
    peaks = _peaks_mb(process)
    result["peak_mb"] = peaks.pop(process.pid)
    result["workers_peak_mb"] = sorted(peaks.values(), reverse=True)


async def _timed_run(url: str, tenant_id: str, period: str, pool: WorkerPool) -> dict[str, Any]:
    settings = InvoicingSettings()
    engine = create_engine(url, SCHEMA)
    sessions = session_factory(engine)
    try:
        with peak_rss() as memory:
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                result = await run_billing(
                    session,
                    tenant_id,
                    period,
                    pool=pool,
                    parallel_from=settings.billing_parallel_companies,
                )
            seconds = time.perf_counter() - started
        async with sessions() as session:
            lines = await session.scalar(select(func.count()).select_from(InvoiceLineRow))
            total = await session.scalar(select(func.sum(InvoiceRow.total)))
    finally:
        await engine.dispose()
    return {
        "seconds": round(seconds, 2),
        "invoices": result.invoices,
        "created": result.created,
        "updated": result.updated,
        "lines": lines,
        "sum_of_totals": str(total),
        "rss_before_mb": round(memory["before_mb"]),
        "peak_rss_mb": memory["peak_mb"],
        "workers_peak_rss_mb": memory["workers_peak_mb"],
    }


async def billing_run_bench(
    companies: int = 10000, *, period: str = PERIOD, database_url: str | None = None
) -> dict[str, Any]:
    """Fills a fresh database with ``companies`` companies x 25 modules x a month, times
    ``run_billing`` (first run, then an unchanged re-run) and drops the database."""
    base = database_url or InvoicingSettings().database_url
    name = f"icb_bench_billing_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(base))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config("invoicing", url), "head")
        tenant_id = str(uuid.uuid4())
        started = time.perf_counter()
        filled = await fill(_dsn(base, name), tenant_id, companies, period)
        fill_seconds = time.perf_counter() - started
        pool = WorkerPool(worker_count(InvoicingSettings().billing_workers))
        pool.start()  # as the service's runtime does; its processes start with the first run
        try:
            first = await _timed_run(url, tenant_id, period, pool)
            again = await _timed_run(url, tenant_id, period, pool)
        finally:
            pool.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "companies": companies,
        "period": period,
        **filled,
        "fill_seconds": round(fill_seconds, 1),
        "run": first,
        "rerun": again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.billing")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--period", default=PERIOD)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(billing_run_bench(args.companies, period=args.period)), indent=2))


if __name__ == "__main__":
    main()
