"""Failed syncs (PRODUCT.md section 11, insight ``sync_failed``): a module whose latest
finished sync of a day failed, until a later sync of that day succeeds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleSyncRow
from services.ingest.sync.status import SyncStatus

ENDED = (SyncStatus.SUCCEEDED, SyncStatus.FAILED)


@dataclass(frozen=True)
class EndedSync:
    module: str
    day: date
    status: SyncStatus
    error: str | None
    attempts: int
    finished_at: datetime | None


@dataclass(frozen=True)
class FailedModule:
    module: str
    days: list[EndedSync]
    """the failed days, newest first"""


def failed_modules(syncs: Iterable[EndedSync]) -> list[FailedModule]:
    """Per module the days whose last ended sync (in the order given: oldest first) failed."""
    last: dict[tuple[str, date], EndedSync] = {}
    for sync in syncs:
        last[(sync.module, sync.day)] = sync
    failed: dict[str, list[EndedSync]] = defaultdict(list)
    for sync in last.values():
        if sync.status == SyncStatus.FAILED:
            failed[sync.module].append(sync)
    return [
        FailedModule(module, sorted(days, key=lambda s: s.day, reverse=True))
        for module, days in sorted(failed.items())
    ]


async def failed_syncs(session: AsyncSession, tenant_id: str) -> list[FailedModule]:
    s = ModuleSyncRow
    rows = await session.execute(
        select(s.module, s.day, s.status, s.error, s.attempts, s.finished_at)
        .where(s.tenant_id == tenant_id, s.status.in_(ENDED))
        .order_by(s.finished_at, s.id)
    )
    return failed_modules(EndedSync(*row) for row in rows)
