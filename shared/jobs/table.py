"""A job as a row: its table, its states, queueing and finding it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import JsonDocument, dialect_of, insert
from shared.pagination import Page, PageParams, decode_cursor, encode_cursor
from shared.problems import invalid


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
        Column("payload", JsonDocument, nullable=False),
        Column("status", String(16), nullable=False),
        Column("progress_done", Integer, nullable=False),
        Column("progress_total", Integer, nullable=True),
        Column("result", JsonDocument, nullable=True),
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
                "created_at": utc_now(),
            },
        )
        row = (await session.execute(active)).first()
        if row is not None:
            job = Job.of(row)
            return job, job.id == new_id


async def newest(
    session: AsyncSession,
    table: Table,
    paging: PageParams,
    *,
    tenant_id: str,
    kind: str,
    subject: str | None = None,
) -> Page[Job]:
    """The tenant's jobs of ``kind`` (of one ``subject``, if given), newest first."""
    c = table.c
    query = select(table).where(c.tenant_id == tenant_id, c.kind == kind)
    if subject is not None:
        query = query.where(c.subject == subject)
    if paging.cursor:
        values = decode_cursor(paging.cursor)
        try:
            after = (datetime.fromisoformat(values[0]), str(values[1]))
        except (IndexError, TypeError, ValueError):
            raise invalid(["query", "cursor"], "not a cursor this API issued") from None
        query = query.where(tuple_(c.created_at, c.id) < tuple_(*after))
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(paging.limit + 1)
    jobs = [Job.of(row) for row in (await session.execute(query)).all()]
    shown = jobs[: paging.limit]
    last = shown[-1] if shown else None
    more = len(jobs) > paging.limit and last is not None
    return Page(
        items=shown,
        next_cursor=encode_cursor([last.created_at.isoformat(), last.id])
        if more and last
        else None,
    )


async def find(
    session: AsyncSession, table: Table, job_id: str, tenant_id: str | None = None
) -> Job | None:
    query = select(table).where(table.c.id == job_id)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    row = (await session.execute(query)).first()
    return None if row is None else Job.of(row)
