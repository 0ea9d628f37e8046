"""Leases on jobs: the claim that gives a job to one replica, the heartbeat that keeps it,
and the ends of a job (done, failed, handed back)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import utc_now
from shared.db import dialect_of
from shared.jobs.table import Job, JobStatus
from shared.problems import Problem

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another replica took the job over: this one's work must not commit."""


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
        now = utc_now()
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
                    lease_expires_at=utc_now() + self.lease,
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
                finished_at=utc_now(),
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
                    finished_at=utc_now(),
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
