"""Connections and sync history: queries only, the caller commits.

Claims are conditional updates, so two replicas of ingest never run the same attempt or
schedule the same day twice, on PostgreSQL and on SQLite alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleConnectionRow, ModuleSyncRow
from services.ingest.sync.status import OPEN, WAITING, SyncStatus, SyncTrigger

S = ModuleSyncRow


@dataclass(frozen=True)
class SyncCounts:
    """What a successful attempt received and what became of it."""

    records: int
    accepted: int
    corrected: int
    unchanged: int
    rejected: int


@dataclass(frozen=True)
class ConnectionIn:
    base_url: str
    sealed_credentials: str
    timezone: str
    sync_time: str | None
    enabled: bool


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


async def get_connection(
    session: AsyncSession, tenant_id: str, module: str
) -> ModuleConnectionRow | None:
    return await session.get(ModuleConnectionRow, (tenant_id, module))


async def put_connection(
    session: AsyncSession, tenant_id: str, module: str, data: ConnectionIn, now: datetime
) -> tuple[ModuleConnectionRow, bool]:
    """The stored connection and whether it is new."""
    row = await get_connection(session, tenant_id, module)
    created = row is None
    if row is None:
        row = ModuleConnectionRow(
            tenant_id=tenant_id, module=module, created_at=now, scheduled_through=None
        )
        session.add(row)
    row.base_url, row.credentials = data.base_url, data.sealed_credentials
    row.timezone, row.sync_time, row.enabled = data.timezone, data.sync_time, data.enabled
    row.updated_at = now
    await session.flush()
    return row, created


async def delete_connection(session: AsyncSession, tenant_id: str, module: str) -> bool:
    result = await session.execute(
        delete(ModuleConnectionRow).where(
            ModuleConnectionRow.tenant_id == tenant_id, ModuleConnectionRow.module == module
        )
    )
    return _rowcount(result) > 0


async def enabled_connections(session: AsyncSession) -> Sequence[ModuleConnectionRow]:
    """Every tenant's enabled connections: what the scheduler looks at."""
    return (
        await session.scalars(
            select(ModuleConnectionRow).where(ModuleConnectionRow.enabled.is_(True))
        )
    ).all()


async def claim_schedule(session: AsyncSession, tenant_id: str, module: str, day: date) -> bool:
    """Moves ``scheduled_through`` to ``day`` unless someone already did."""
    c = ModuleConnectionRow
    result = await session.execute(
        update(c)
        .where(
            c.tenant_id == tenant_id,
            c.module == module,
            or_(c.scheduled_through.is_(None), c.scheduled_through < day),
        )
        .values(scheduled_through=day)
    )
    return _rowcount(result) == 1


async def add_sync(
    session: AsyncSession,
    tenant_id: str,
    module: str,
    day: date,
    trigger: SyncTrigger,
    now: datetime,
    *,
    running_until: datetime | None = None,
) -> ModuleSyncRow:
    """A new sync: ``pending`` (due now), or already claimed when ``running_until`` is given."""
    row = ModuleSyncRow(
        tenant_id=tenant_id,
        module=module,
        day=day,
        trigger=trigger,
        created_at=now,
        status=SyncStatus.RUNNING if running_until else SyncStatus.PENDING,
        attempts=1 if running_until else 0,
        started_at=now if running_until else None,
        next_attempt_at=running_until or now,
        records=0,
        accepted=0,
        corrected=0,
        unchanged=0,
        rejected=0,
    )
    session.add(row)
    await session.flush()
    return row


async def due_syncs(session: AsyncSession, now: datetime, limit: int) -> Sequence[ModuleSyncRow]:
    return (
        await session.scalars(
            select(S)
            .where(S.status.in_(OPEN), S.next_attempt_at <= now)
            .order_by(S.next_attempt_at, S.id)
            .limit(limit)
        )
    ).all()


async def claim_attempt(
    session: AsyncSession, sync: ModuleSyncRow, now: datetime, lease: timedelta
) -> bool:
    """Starts the next attempt unless another worker took it (``attempts`` is the lock)."""
    result = await session.execute(
        update(S)
        .where(
            S.id == sync.id,
            S.attempts == sync.attempts,
            S.status.in_(OPEN),
            S.next_attempt_at <= now,
        )
        .values(
            status=SyncStatus.RUNNING,
            attempts=S.attempts + 1,
            next_attempt_at=now + lease,
            started_at=func.coalesce(S.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def finish_attempt(
    session: AsyncSession,
    sync_id: int,
    status: SyncStatus,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
    counts: SyncCounts | None = None,
) -> ModuleSyncRow:
    row = await session.get(S, sync_id, populate_existing=True)
    assert row is not None
    row.status, row.error, row.next_attempt_at = status, error, retry_at
    if retry_at is None:
        row.finished_at = now
    if counts is not None:
        row.records, row.accepted = counts.records, counts.accepted
        row.corrected, row.unchanged, row.rejected = (
            counts.corrected,
            counts.unchanged,
            counts.rejected,
        )
    await session.flush()
    return row


async def supersede_open(
    session: AsyncSession, tenant_id: str, module: str, day: date, keep_id: int, now: datetime
) -> None:
    """A day that was delivered needs no more attempts from other syncs of it."""
    await session.execute(
        update(S)
        .where(
            S.tenant_id == tenant_id,
            S.module == module,
            S.day == day,
            S.id != keep_id,
            S.status.in_(WAITING),
        )
        .values(status=SyncStatus.SUPERSEDED, next_attempt_at=None, finished_at=now)
        .execution_options(synchronize_session=False)
    )


async def get_sync(session: AsyncSession, sync_id: int) -> ModuleSyncRow | None:
    return await session.get(S, sync_id, populate_existing=True)


async def list_syncs(
    session: AsyncSession,
    tenant_id: str,
    module: str,
    *,
    start: date | None,
    end: date | None,
    after: tuple[date, int] | None,
    limit: int,
) -> Sequence[ModuleSyncRow]:
    """Latest day first, the latest sync of a day first; ``after`` is the last (day, id) seen."""
    query = select(S).where(S.tenant_id == tenant_id, S.module == module)
    if start is not None:
        query = query.where(S.day >= start)
    if end is not None:
        query = query.where(S.day <= end)
    if after is not None:
        day, sync_id = after
        query = query.where(or_(S.day < day, and_(S.day == day, S.id < sync_id)))
    return (await session.scalars(query.order_by(S.day.desc(), S.id.desc()).limit(limit))).all()


async def latest_syncs(session: AsyncSession, tenant_id: str) -> dict[str, ModuleSyncRow]:
    """Per module, the most recent sync."""
    newest = (
        select(func.max(S.id)).where(S.tenant_id == tenant_id).group_by(S.module).scalar_subquery()
    )
    rows = await session.scalars(select(S).where(S.id.in_(newest)))
    return {row.module: row for row in rows}


async def connected_modules(session: AsyncSession, tenant_id: str) -> set[str]:
    c = ModuleConnectionRow
    return set(await session.scalars(select(c.module).where(c.tenant_id == tenant_id)))
