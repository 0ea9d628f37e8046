"""Billing-run jobs on real PostgreSQL: exactly one replica claims a job, and a replica killed
(SIGKILL) while it holds a run's lease mid-run is taken over once the lease expired; the
run then bills exactly what an uninterrupted run bills."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.invoicing import app as invoicing_app
from services.invoicing.models import SCHEMA, BillingRunRow, InvoiceLineRow, InvoiceRow
from services.invoicing.runs.jobs import KIND
from services.invoicing.runs.models import jobs
from services.invoicing.runs.service import run_billing
from services.invoicing.settings import InvoicingSettings
from shared.bus import InProcessBus
from shared.db import create_engine, session_factory
from shared.jobs import Job, JobStatus, JobWorker, Leases, Progress, enqueue, find
from shared.migrations import alembic_config
from tests.integration.test_billing_run_sql import (
    PERIOD,
    TENANT,
    _companies,
    _contracts,
    _documents,
    _reference_rows,
    _units,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3.0
COMPANIES = 14


@pytest.fixture(scope="module")
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    config = alembic_config("invoicing", fresh_database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(fresh_database_url, SCHEMA)
    companies = _companies(COMPANIES)
    async with session_factory(engine)() as session, session.begin():
        session.add_all(_reference_rows(companies) + _contracts(companies))
        session.add_all(_units(companies))
    yield engine
    await engine.dispose()


async def _queue(sessions: async_sessionmaker[AsyncSession], subject: str) -> str:
    async with sessions() as session, session.begin():
        job, created = await enqueue(
            session, jobs, tenant_id=TENANT, kind=KIND, subject=subject, payload={"period": subject}
        )
    assert created
    return job.id


async def test_two_replicas_never_claim_the_same_job(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    queued = {await _queue(sessions, f"2001-{month:02d}") for month in range(1, 13)}
    replicas = [
        Leases(sessions, jobs, f"replica-{i}", lease_seconds=60, max_attempts=3) for i in range(2)
    ]
    claims: dict[str, list[str]] = {r.owner: [] for r in replicas}

    async def claim_all(replica: Leases) -> None:
        while (job := await replica.claim([KIND])) is not None:
            claims[replica.owner].append(job.id)

    await asyncio.gather(*(claim_all(r) for r in replicas))
    everything = [job_id for got in claims.values() for job_id in got]
    assert sorted(everything) == sorted(queued)  # each exactly once
    async with sessions() as session:
        owners = {
            job_id: owner
            for job_id, owner in await session.execute(
                select(jobs.c.id, jobs.c.lease_owner).where(jobs.c.id.in_(queued))
            )
        }
        await session.execute(delete(jobs).where(jobs.c.id.in_(queued)))
        await session.commit()
    assert owners == {job_id: owner for owner, got in claims.items() for job_id in got}


async def test_two_workers_run_each_job_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    queued = set()
    for month in range(1, 7):
        async with sessions() as session, session.begin():
            job, _ = await enqueue(
                session, jobs, tenant_id=TENANT, kind="probe", subject=f"{month}", payload={}
            )
            queued.add(job.id)
    ran: list[str] = []

    async def probe(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        ran.append(job.id)
        await asyncio.sleep(0.05)
        return {"by": job.lease_owner}

    workers = [
        JobWorker(
            sessions,
            jobs,
            {"probe": probe},
            lease_seconds=30,
            max_attempts=3,
            poll_seconds=0.05,
            owner=f"worker-{i}",
        )
        for i in range(2)
    ]

    async def drain(worker: JobWorker) -> None:
        while await worker.drain_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    assert sorted(ran) == sorted(queued)
    async with sessions() as session:
        done = [await find(session, jobs, job_id) for job_id in queued]
    assert all(j is not None and j.status == JobStatus.SUCCEEDED for j in done)
    assert {j.result["by"] for j in done if j is not None and j.result} <= {
        "worker-0",
        "worker-1",
    }


async def test_a_killed_replica_s_run_is_taken_over_and_bills_as_an_uninterrupted_one(
    engine: AsyncEngine, fresh_database_url: str
) -> None:
    sessions = session_factory(engine)
    job_id = await _queue(sessions, PERIOD)
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.billing_job_worker",
        fresh_database_url,
        str(LEASE_SECONDS),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert doomed.stdout is not None
        line = await asyncio.wait_for(doomed.stdout.readline(), 60)
        assert line.startswith(b"billing "), line
        owner = line.split()[1].decode()
        await asyncio.sleep(LEASE_SECONDS)  # beats keep the lease while the run hangs
        async with sessions() as session:
            held = await find(session, jobs, job_id)
        assert held is not None and (held.status, held.lease_owner, held.attempts) == (
            JobStatus.RUNNING,
            owner,
            1,
        )
        assert held.progress_total == COMPANIES - 2 and 0 < held.progress_done < COMPANIES - 2
    finally:
        if doomed.returncode is None:
            os.kill(doomed.pid, signal.SIGKILL)
        await doomed.wait()
    assert doomed.returncode == -signal.SIGKILL

    settings = InvoicingSettings(environment="test", database_url=fresh_database_url)
    rescuer = invoicing_app.build_runtime(settings, engine, InProcessBus()).billing_runs
    assert await rescuer.worker.drain_once() == 0  # the dead replica's lease still runs
    loop = asyncio.create_task(rescuer.worker.run())
    try:
        done = await rescuer.worker.wait(job_id, LEASE_SECONDS * 10)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    async with sessions() as session:
        taken_over = await _documents(session)
        runs = await session.scalar(select(func.count()).select_from(BillingRunRow))
    assert done is not None and done.status == JobStatus.SUCCEEDED, done
    assert (done.lease_owner, done.attempts) == (rescuer.worker.leases.owner, 2)
    assert done.result is not None and done.result["id"] == job_id
    assert (done.result["invoices"], done.result["created"]) == (COMPANIES - 2, COMPANIES - 2)
    assert (done.progress_done, done.progress_total) == (COMPANIES - 2, COMPANIES - 2)
    assert runs == 1  # the dead replica's run rolled back with its transaction

    async with sessions() as session, session.begin():
        await session.execute(delete(InvoiceLineRow))
        await session.execute(delete(InvoiceRow))
        await session.execute(delete(BillingRunRow))
    async with sessions() as session, session.begin():
        await run_billing(session, TENANT, PERIOD)
    async with sessions() as session:
        uninterrupted = await _documents(session)
    assert len(taken_over) > COMPANIES
    assert taken_over == uninterrupted
