"""How an attempt of a sync ends, in the caller's transaction: a delivered day goes through
the same intake as pushed usage and supersedes the other open syncs of that day; a failed one
waits for its retry or ends the sync. A sync that is over writes ``module.synced``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleSyncRow
from services.ingest.sync import repository
from services.ingest.sync.status import SyncStatus, SyncTrigger
from services.ingest.usage.service import IntakeResult, take_in
from shared.events import ModuleSynced
from shared.observability.metrics import SYNC_OUTCOMES
from shared.outbox import Outbox

ERROR_CHARS = 2000


@dataclass(frozen=True)
class Job:
    """A claimed attempt of a sync."""

    id: int
    tenant_id: str
    module: str
    day: date
    trigger: SyncTrigger
    attempt: int

    @classmethod
    def of(cls, row: ModuleSyncRow, attempt: int) -> Job:
        return cls(row.id, row.tenant_id, row.module, row.day, row.trigger, attempt)


def _rejection_note(result: IntakeResult) -> str | None:
    if not result.rejected:
        return None
    loc, msg = result.rejected[0].located()[0]
    where = ".".join(str(part) for part in loc)
    return f"{len(result.rejected)} records rejected; the first: {where}: {msg}"


def _synced(job: Job, row: ModuleSyncRow) -> ModuleSynced:
    """``module.synced`` for a sync that is over, from what its row says."""
    outcome = SyncStatus.SUCCEEDED if row.status is SyncStatus.SUCCEEDED else SyncStatus.FAILED
    SYNC_OUTCOMES.labels(job.module, job.trigger, outcome).inc()
    return ModuleSynced(
        module=job.module,
        date=job.day,
        trigger=job.trigger,
        outcome=outcome,
        records=row.records,
        rejected=row.rejected,
        error=row.error,
    )


async def deliver(
    session: AsyncSession,
    outbox: Outbox,
    job: Job,
    raw: list[Any],
    today: date,
    max_age_days: int,
    now: datetime,
) -> ModuleSyncRow:
    """The day arrived whole: store it and end the sync as ``succeeded``."""
    result = await take_in(session, outbox, job.tenant_id, raw, today, max_age_days, now)
    counts = repository.SyncCounts(
        records=len(raw),
        accepted=result.accepted,
        corrected=result.corrected,
        unchanged=result.unchanged,
        rejected=len(result.rejected),
    )
    row = await repository.finish_attempt(
        session, job.id, SyncStatus.SUCCEEDED, now, error=_rejection_note(result), counts=counts
    )
    await repository.supersede_open(session, job.tenant_id, job.module, job.day, job.id, now)
    await outbox.add(session, job.tenant_id, _synced(job, row))
    return row


async def fail(
    session: AsyncSession,
    outbox: Outbox,
    job: Job,
    error: str,
    retry_at: datetime | None,
    now: datetime,
) -> ModuleSyncRow:
    """The attempt failed: ``retrying`` at ``retry_at``, or without one the sync ``failed``."""
    row = await repository.finish_attempt(
        session,
        job.id,
        SyncStatus.RETRYING if retry_at else SyncStatus.FAILED,
        now,
        error=error[:ERROR_CHARS],
        retry_at=retry_at,
    )
    if retry_at is None:
        await outbox.add(session, job.tenant_id, _synced(job, row))
    return row
