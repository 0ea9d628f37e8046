"""The loop that works a service's jobs: claims, runs the handler under a heartbeat, waits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import (
    Table,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.drain import DrainLoop
from shared.jobs.leases import LeaseLost, Leases, Progress
from shared.jobs.table import Job, find
from shared.observability.metrics import JOB_DURATION

log = logging.getLogger(__name__)


Handler = Callable[[AsyncSession, Job, Progress], Awaitable[dict[str, Any]]]
"""Does a job's work in the given transaction and answers its result (JSON)."""


def worker_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is another)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobWorker(DrainLoop):
    """Works the jobs of a table whose kinds it has handlers for, one at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        handlers: dict[str, Handler],
        *,
        lease_seconds: float,
        max_attempts: int,
        poll_seconds: float,
        owner: str | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(poll_seconds, f"the {table.name} worker")
        self.leases = Leases(
            sessions,
            table,
            owner or worker_id(),
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
        )
        self._handlers = handlers
        self._beat_seconds = lease_seconds / 3
        self._after_commit = after_commit
        self._finished = asyncio.Event()

    async def drain_once(self) -> int:
        job = await self.leases.claim(list(self._handlers))
        if job is None:
            return 0
        try:
            await self.work(job)
        finally:
            self._finished.set()
            self._finished = asyncio.Event()
        return 1

    async def work(self, job: Job) -> None:
        progress = Progress(job.progress_done, job.progress_total)
        attempt = asyncio.create_task(self._attempt(job, progress), name=f"job {job.id}")
        stop = asyncio.Event()
        lost: list[bool] = []
        beating = asyncio.create_task(self._heartbeat(job.id, progress, stop, attempt, lost))
        started = time.perf_counter()
        outcome = "succeeded"
        try:
            await attempt
        except LeaseLost:
            outcome = "lease_lost"
            log.warning("job %s was taken over by another worker", job.id)
        except asyncio.CancelledError:
            outcome = "lease_lost" if lost else "released"
            if not lost:  # this replica stops: give the job back
                await self.leases.release(job.id)
                raise
            log.warning("job %s: lease lost, its work rolled back", job.id)
        except Exception as error:
            outcome = "failed"
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self.leases.fail(job.id, error)
        finally:
            stop.set()
            await beating
            JOB_DURATION.labels(job.kind, outcome).observe(time.perf_counter() - started)

    async def _attempt(self, job: Job, progress: Progress) -> None:
        handler = self._handlers[job.kind]
        async with self.leases.sessions() as session, session.begin():
            result = await handler(session, job, progress)
            await self.leases.complete(session, job.id, result, progress)
        if self._after_commit is not None:
            self._after_commit()

    async def _heartbeat(
        self,
        job_id: str,
        progress: Progress,
        stop: asyncio.Event,
        attempt: asyncio.Task[None],
        lost: list[bool],
    ) -> None:
        """Never awaited before the work commits: on SQLite a beat may wait for the work's
        write lock."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._beat_seconds):
                    await stop.wait()
            if stop.is_set() or attempt.done():
                return
            try:
                held = await self.leases.beat(job_id, progress)
            except Exception:
                log.warning("job %s: heartbeat failed; trying again", job_id, exc_info=True)
                continue
            if not held and not attempt.done():
                lost.append(True)
                attempt.cancel()
                return

    async def wait(self, job_id: str, seconds: float) -> Job | None:
        """The job once finished, or as it stands after ``seconds``: woken at once by a job
        this worker finishes, polling for one another replica works."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            finished = self._finished  # before the read: a job finishing after it wakes us
            async with self.leases.sessions() as session:
                job = await find(session, self.leases.table, job_id)
            remaining = deadline - asyncio.get_running_loop().time()
            if job is None or job.status.finished or remaining <= 0:
                return job
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, self._poll)):
                    await finished.wait()
