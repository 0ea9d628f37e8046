"""Durable jobs on SQLite: queueing without duplicates, the lease (claim, heartbeat, expiry and
take-over, the attempts limit) and the worker (success, failure, a lease lost mid-work)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_all, create_engine, session_factory
from shared.jobs import (
    Job,
    JobStatus,
    JobWorker,
    LeaseLost,
    Leases,
    Progress,
    enqueue,
    find,
    job_table,
)
from shared.problems import Conflict

TENANT = "t-1"
metadata = MetaData()
jobs = job_table(metadata)
effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("job", String))


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}", "jobs")
    await create_all(engine, metadata)
    yield session_factory(engine)
    await engine.dispose()


async def queue(
    sessions: async_sessionmaker[AsyncSession], subject: str = "2026-01", kind: str = "run"
) -> Job:
    async with sessions() as session, session.begin():
        job, _ = await enqueue(
            session, jobs, tenant_id=TENANT, kind=kind, subject=subject, payload={"p": subject}
        )
    return job


async def load(sessions: async_sessionmaker[AsyncSession], job_id: str) -> Job:
    async with sessions() as session:
        job = await find(session, jobs, job_id)
    assert job is not None
    return job


def leases(
    sessions: async_sessionmaker[AsyncSession], owner: str, seconds: float = 30, attempts: int = 3
) -> Leases:
    return Leases(sessions, jobs, owner, lease_seconds=seconds, max_attempts=attempts)


async def test_a_subject_has_one_active_job_at_a_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        first, new = await enqueue(
            session, jobs, tenant_id=TENANT, kind="run", subject="2026-01", payload={}
        )
        again, again_new = await enqueue(
            session, jobs, tenant_id=TENANT, kind="run", subject="2026-01", payload={}
        )
        other, other_new = await enqueue(
            session, jobs, tenant_id=TENANT, kind="run", subject="2026-02", payload={}
        )
    assert (new, again_new, other_new) == (True, False, True)
    assert again.id == first.id != other.id
    assert first.status == JobStatus.QUEUED and first.attempts == 0

    owner = leases(sessions, "a")
    claimed = await owner.claim(["run"])
    assert claimed is not None and claimed.id == first.id
    async with sessions() as session, session.begin():
        await owner.complete(session, first.id, {"done": True}, Progress(1, 1))
    assert (await queue(sessions)).id not in (first.id, other.id)  # finished: a new one


async def test_a_claim_leases_the_oldest_job_to_one_owner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await queue(sessions, "2026-01")
    second = await queue(sessions, "2026-02")
    await queue(sessions, "2026-03", kind="other")
    a, b = leases(sessions, "a"), leases(sessions, "b")

    got_a = await a.claim(["run"])
    got_b = await b.claim(["run"])
    assert got_a is not None and got_b is not None
    assert (got_a.id, got_b.id) == (first.id, second.id)
    assert await a.claim(["run"]) is None  # the other kind is not asked for
    stored = await load(sessions, first.id)
    assert (stored.status, stored.lease_owner, stored.attempts) == (JobStatus.RUNNING, "a", 1)
    assert stored.lease_expires_at is not None and stored.started_at is not None
    assert got_a.status == JobStatus.RUNNING and got_a.attempts == 1


async def test_the_heartbeat_extends_the_lease_and_records_progress(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = await queue(sessions)
    owner = leases(sessions, "a")
    assert await owner.claim(["run"]) is not None
    before = (await load(sessions, job.id)).lease_expires_at
    await asyncio.sleep(0.01)
    assert await owner.beat(job.id, Progress(40, 100))
    after = await load(sessions, job.id)
    assert after.lease_expires_at is not None and before is not None
    assert after.lease_expires_at > before
    assert (after.progress_done, after.progress_total) == (40, 100)
    assert not await leases(sessions, "b").beat(job.id, Progress(99, 100))
    assert (await load(sessions, job.id)).progress_done == 40


async def test_an_expired_lease_is_taken_over_and_the_first_owner_can_no_longer_finish(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = await queue(sessions)
    dead, alive = leases(sessions, "dead", seconds=0.2), leases(sessions, "alive", seconds=30)
    assert await dead.claim(["run"]) is not None
    assert await alive.claim(["run"]) is None  # still leased
    await asyncio.sleep(0.3)
    taken = await alive.claim(["run"])
    assert taken is not None and taken.id == job.id
    stored = await load(sessions, job.id)
    assert (stored.lease_owner, stored.attempts) == ("alive", 2)

    assert not await dead.beat(job.id, Progress(1))
    async with sessions() as session:
        with pytest.raises(LeaseLost):
            await dead.complete(session, job.id, {}, Progress())
    await dead.fail(job.id, RuntimeError("late"))
    assert (await load(sessions, job.id)).status == JobStatus.RUNNING


async def test_a_job_whose_worker_keeps_dying_fails_after_the_last_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = await queue(sessions)
    for attempt in (1, 2):
        claimed = await leases(sessions, f"w{attempt}", seconds=0.05, attempts=2).claim(["run"])
        assert claimed is not None and claimed.attempts == attempt
        await asyncio.sleep(0.1)
    assert await leases(sessions, "w3", attempts=2).claim(["run"]) is None
    stored = await load(sessions, job.id)
    assert stored.status == JobStatus.FAILED
    assert stored.error == "its worker was lost 2 times"
    assert stored.finished_at is not None and stored.lease_expires_at is None


def worker(
    sessions: async_sessionmaker[AsyncSession], handler: Any, owner: str, lease: float = 30
) -> JobWorker:
    return JobWorker(
        sessions,
        jobs,
        {"run": handler},
        lease_seconds=lease,
        max_attempts=3,
        poll_seconds=0.05,
        owner=owner,
    )


async def test_the_worker_commits_the_work_with_its_result(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def handler(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        await session.execute(effects.insert().values(job=job.id))
        progress.report(3, 3)
        return {"period": job.payload["p"]}

    job = await queue(sessions)
    assert await worker(sessions, handler, "a").drain_once() == 1
    done = await load(sessions, job.id)
    assert (done.status, done.error) == (JobStatus.SUCCEEDED, None)
    assert done.result == {"period": "2026-01"}
    assert (done.progress_done, done.progress_total, done.attempts) == (3, 3, 1)
    assert done.finished_at is not None
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(effects)) == 1
    assert await worker(sessions, handler, "a").drain_once() == 0


async def test_a_failing_job_is_marked_failed_with_its_problem_and_not_retried(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calls: list[str] = []

    async def handler(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        calls.append(job.id)
        await session.execute(effects.insert().values(job=job.id))
        raise Conflict("the period is closed")

    job = await queue(sessions)
    runner = worker(sessions, handler, "a")
    assert await runner.drain_once() == 1
    assert await runner.drain_once() == 0
    failed = await load(sessions, job.id)
    assert failed.status == JobStatus.FAILED and calls == [job.id]
    assert failed.error == "Conflict: the period is closed"
    assert failed.result is not None
    assert failed.result["problem"]["status"] == 409
    assert failed.result["problem"]["detail"] == "the period is closed"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(effects)) == 0


async def test_a_worker_that_loses_its_lease_stops_its_work(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    started = asyncio.Event()

    async def handler(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(30)
        await session.execute(effects.insert().values(job=job.id))
        return {}

    job = await queue(sessions)
    runner = worker(sessions, handler, "a", lease=0.3)
    draining = asyncio.create_task(runner.drain_once())
    await started.wait()
    async with sessions() as session, session.begin():  # another replica took it over
        await session.execute(update(jobs).values(lease_owner="b"))
    assert await asyncio.wait_for(draining, 5) == 1
    stored = await load(sessions, job.id)
    assert (stored.status, stored.lease_owner) == (JobStatus.RUNNING, "b")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(effects)) == 0


async def test_a_stopping_worker_gives_its_job_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    started = asyncio.Event()

    async def handler(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(30)
        return {}

    job = await queue(sessions)
    loop = asyncio.create_task(worker(sessions, handler, "a").run())
    await started.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    stored = await load(sessions, job.id)
    assert (stored.status, stored.lease_owner, stored.attempts) == (JobStatus.QUEUED, None, 0)


async def test_waiting_answers_a_finished_job_at_once_and_a_running_one_after_the_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    release = asyncio.Event()

    async def handler(session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        await release.wait()
        return {"ok": 1}

    job = await queue(sessions)
    runner = worker(sessions, handler, "a")
    loop = asyncio.create_task(runner.run())
    try:
        waited = await runner.wait(job.id, 0.2)
        assert waited is not None and waited.status == JobStatus.RUNNING
        release.set()
        done = await runner.wait(job.id, 5)
        assert done is not None and done.status == JobStatus.SUCCEEDED and done.result == {"ok": 1}
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
