"""Durable jobs: long work as a row in the service's database, leased to one replica at a time.

A request (or a consumer) queues a job in its own short transaction and answers; a
:class:`JobWorker` (a :class:`~shared.drain.DrainLoop`) claims it in another short transaction
that writes ``lease_owner`` and ``lease_expires_at``, then does the work in a transaction of
its own that also marks the job done, so the work and its record commit together. While the
work runs, a heartbeat extends the lease (and records progress) every third of it.

A replica that dies stops beating; once its lease expired, the job is claimable again and
another replica takes it over (``attempts`` counts the claims; past ``max_attempts`` the job
fails instead of being tried forever). A job whose work raises fails at once with the error:
a deterministic failure is not retried. On PostgreSQL the claim takes the job row with ``FOR
UPDATE SKIP LOCKED``, so replicas never wait on each other's claims; on SQLite (one process)
the same code runs without it, and every state change is guarded by the expected state, so a
lost race changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import dialect_of, insert
from shared.drain import DrainLoop
from shared.problems import Problem

log = logging.getLogger(__name__)

Json = JSON().with_variant(JSONB(), "postgresql")


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
# Literal, not bound: PostgreSQL matches ON CONFLICT's predicate to the partial index's only
# when it can compare them as written.
ACTIVE_WHERE = text("status IN ('queued', 'running')")


def job_table(metadata: MetaData, name: str = "jobs") -> Table:
    """A service's job table. ``subject`` names what a job works on: a tenant has at most one
    queued or running job per kind and subject (a unique index on the active ones)."""
    table = Table(
        name,
        metadata,
        Column("id", String(36), primary_key=True),
        Column("tenant_id", String(36), nullable=False),
        Column("kind", String(64), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("payload", Json, nullable=False),
        Column("status", String(16), nullable=False),
        Column("progress_done", Integer, nullable=False),
        Column("progress_total", Integer, nullable=True),
        Column("result", Json, nullable=True),
        Column("error", Text, nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("lease_owner", String(120), nullable=True),
        Column("lease_expires_at", DateTime(timezone=True), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("finished_at", DateTime(timezone=True), nullable=True),
    )
    Index(f"ix_{name}_status_created_at", table.c.status, table.c.created_at)
    Index(f"ix_{name}_tenant_id_created_at", table.c.tenant_id, table.c.created_at)
    Index(
        f"uq_{name}_active_subject",
        table.c.tenant_id,
        table.c.kind,
        table.c.subject,
        unique=True,
        postgresql_where=ACTIVE_WHERE,
        sqlite_where=ACTIVE_WHERE,
    )
    return table


@dataclass(frozen=True)
class Job:
    id: str
    tenant_id: str
    kind: str
    subject: str
    payload: dict[str, Any]
    status: JobStatus
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Row[Any]) -> Job:
        values = row._asdict()
        return cls(**{**values, "status": JobStatus(values["status"])})


class LeaseLost(Exception):
    """Another replica took the job over: this one's work must not commit."""


def now_utc() -> datetime:
    return datetime.now(UTC)


async def enqueue(
    session: AsyncSession,
    table: Table,
    *,
    tenant_id: str,
    kind: str,
    subject: str,
    payload: dict[str, Any],
) -> tuple[Job, bool]:
    """Queues a job; answers it and True, or the tenant's queued or running job of the same
    kind and subject and False (no duplicate is queued)."""
    c = table.c
    stmt = insert(table, dialect_of(session)).on_conflict_do_nothing(
        index_elements=[c.tenant_id, c.kind, c.subject], index_where=ACTIVE_WHERE
    )
    active = select(table).where(
        c.tenant_id == tenant_id, c.kind == kind, c.subject == subject, c.status.in_(ACTIVE)
    )
    while True:  # again only if the active job that stood in the way finished in between
        new_id = str(uuid.uuid4())
        await session.execute(
            stmt,
            {
                "id": new_id,
                "tenant_id": tenant_id,
                "kind": kind,
                "subject": subject,
                "payload": payload,
                "status": JobStatus.QUEUED.value,
                "progress_done": 0,
                "attempts": 0,
                "created_at": now_utc(),
            },
        )
        row = (await session.execute(active)).first()
        if row is not None:
            job = Job.of(row)
            return job, job.id == new_id


async def find(
    session: AsyncSession, table: Table, job_id: str, tenant_id: str | None = None
) -> Job | None:
    query = select(table).where(table.c.id == job_id)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    row = (await session.execute(query)).first()
    return None if row is None else Job.of(row)


def _for_claim(session: AsyncSession, query: Select[Any]) -> Select[Any]:
    """The one dialect branch: PostgreSQL replicas skip the rows others are claiming."""
    if dialect_of(session) == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


@dataclass
class Progress:
    """What the work reports as it goes; the heartbeat records it with the lease."""

    done: int = 0
    total: int | None = None

    def report(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total


class Leases:
    """The state changes of a job table's leases, each in a short transaction of its own (or,
    for :meth:`complete`, in the work's transaction), each guarded by the expected state."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        owner: str,
        *,
        lease_seconds: float,
        max_attempts: int,
    ) -> None:
        self.sessions = sessions
        self.table = table
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts

    def _expired(self, now: datetime) -> ColumnElement[bool]:
        c = self.table.c
        return and_(c.status == JobStatus.RUNNING.value, c.lease_expires_at < now)

    def _held(self, job_id: str) -> ColumnElement[bool]:
        c = self.table.c
        return and_(
            c.id == job_id, c.lease_owner == self.owner, c.status == JobStatus.RUNNING.value
        )

    async def claim(self, kinds: Sequence[str]) -> Job | None:
        """Leases the oldest claimable job of ``kinds`` to this owner: a queued one, or a
        running one whose lease expired (its replica died). A job already claimed
        ``max_attempts`` times fails instead."""
        c = self.table.c
        now = now_utc()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(self.table)
                .where(self._expired(now), c.attempts >= self.max_attempts, c.kind.in_(kinds))
                .values(
                    status=JobStatus.FAILED.value,
                    error=f"its worker was lost {self.max_attempts} times",
                    finished_at=now,
                    lease_expires_at=None,
                )
            )
            claimable = and_(
                c.kind.in_(kinds), or_(c.status == JobStatus.QUEUED.value, self._expired(now))
            )
            query = select(self.table).where(claimable).order_by(c.created_at, c.id).limit(1)
            row = (await session.execute(_for_claim(session, query))).first()
            if row is None:
                return None
            job = Job.of(row)
            values = {
                "status": JobStatus.RUNNING.value,
                "lease_owner": self.owner,
                "lease_expires_at": now + self.lease,
                "attempts": job.attempts + 1,
                "started_at": job.started_at or now,
            }
            claimed = await session.execute(
                update(self.table)
                .where(c.id == job.id, c.attempts == job.attempts, claimable)
                .values(values)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another worker was first (SQLite: no row lock to wait for)
        return Job(**{**job.__dict__, **values, "status": JobStatus.RUNNING})

    async def beat(self, job_id: str, progress: Progress) -> bool:
        """Extends the lease and records the progress; False when the lease is lost."""
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                update(self.table)
                .where(self._held(job_id))
                .values(
                    lease_expires_at=now_utc() + self.lease,
                    progress_done=progress.done,
                    progress_total=progress.total,
                )
            )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    async def complete(
        self, session: AsyncSession, job_id: str, result: dict[str, Any], progress: Progress
    ) -> None:
        """Marks the job succeeded in the work's own transaction: the work commits only
        while the lease is still this owner's."""
        done = await session.execute(
            update(self.table)
            .where(self._held(job_id))
            .values(
                status=JobStatus.SUCCEEDED.value,
                result=result,
                progress_done=progress.done,
                progress_total=progress.total,
                finished_at=now_utc(),
                lease_expires_at=None,
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(job_id)

    async def fail(self, job_id: str, error: BaseException) -> None:
        """A problem is kept as the client would have seen it (``result["problem"]``)."""
        problem = error.body() if isinstance(error, Problem) else None
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(self.table)
                .where(self._held(job_id))
                .values(
                    status=JobStatus.FAILED.value,
                    error=f"{type(error).__name__}: {error}"[:4000],
                    result=None if problem is None else {"problem": problem},
                    finished_at=now_utc(),
                    lease_expires_at=None,
                )
            )

    async def release(self, job_id: str) -> None:
        """Gives a job back when this replica stops (the claim did not count)."""
        c = self.table.c
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(self.table)
                .where(self._held(job_id))
                .values(
                    status=JobStatus.QUEUED.value,
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=c.attempts - 1,
                )
            )


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
        try:
            await attempt
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job.id)
        except asyncio.CancelledError:
            if not lost:  # this replica stops: give the job back
                await self.leases.release(job.id)
                raise
            log.warning("job %s: lease lost, its work rolled back", job.id)
        except Exception as error:
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self.leases.fail(job.id, error)
        finally:
            stop.set()
            await beating

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
