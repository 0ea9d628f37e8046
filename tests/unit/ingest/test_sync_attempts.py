"""How an attempt ends, on a session: the sync row's outcome and ``module.synced``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import models
from services.ingest.sync import attempts, repository
from services.ingest.sync.attempts import Job
from services.ingest.sync.status import SyncStatus, SyncTrigger
from shared.db import create_all, create_engine, session_factory
from shared.events import Event, ModuleSynced, UsageRecorded

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = date(2026, 3, 1)


class Outbox:
    """Collects what the use cases write, as the real outbox would in the transaction."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def add(self, session: AsyncSession, tenant_id: str, *events: Event) -> None:
        assert tenant_id == "t1"
        self.events.extend(events)

    def synced(self) -> list[ModuleSynced]:
        return [e for e in self.events if isinstance(e, ModuleSynced)]


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    engine = create_engine("sqlite+aiosqlite://", models.SCHEMA)
    await create_all(engine, models.Base.metadata)
    async with session_factory(engine)() as s, s.begin():
        yield s
    await engine.dispose()


async def _job(session: AsyncSession, trigger: SyncTrigger, attempt: int = 1) -> Job:
    row = await repository.add_sync(
        session, "t1", "graphus", DAY, trigger, NOW, running_until=NOW + timedelta(minutes=5)
    )
    return Job.of(row, attempt)


def _record(org: str, quantity: Any) -> dict[str, Any]:
    return {
        "module": "graphus",
        "org_id": org,
        "org_name": org.upper(),
        "metric": "mailboxes",
        "date": DAY.isoformat(),
        "quantity": quantity,
    }


async def test_a_delivered_day_is_stored_and_ends_the_sync(session: AsyncSession) -> None:
    outbox = Outbox()
    waiting = await repository.add_sync(session, "t1", "graphus", DAY, SyncTrigger.SCHEDULED, NOW)
    job = await _job(session, SyncTrigger.MANUAL)
    raw = [_record("a", 3), _record("b", "x")]
    row = await attempts.deliver(session, outbox, job, raw, DAY, 60, NOW)  # type: ignore[arg-type]
    assert (row.status, row.records, row.accepted, row.rejected) == (
        SyncStatus.SUCCEEDED,
        2,
        1,
        1,
    )
    assert row.error is not None and row.error.startswith("1 records rejected; the first: ")
    assert (await repository.get_sync(session, waiting.id)).status is SyncStatus.SUPERSEDED  # type: ignore[union-attr]
    [usage] = [e for e in outbox.events if isinstance(e, UsageRecorded)]
    assert [r.org_id for r in usage.records] == ["a"]
    [synced] = outbox.synced()
    assert synced.model_dump(exclude={"date"}) == {
        "module": "graphus",
        "trigger": "manual",
        "outcome": "succeeded",
        "records": 2,
        "rejected": 1,
        "error": row.error,
    }
    assert synced.date == DAY


async def test_a_failure_with_a_retry_ahead_is_not_announced(session: AsyncSession) -> None:
    outbox = Outbox()
    job = await _job(session, SyncTrigger.SCHEDULED)
    retry_at = NOW + timedelta(minutes=1)
    row = await attempts.fail(session, outbox, job, "timeout", retry_at, NOW)  # type: ignore[arg-type]
    assert (row.status, row.error, row.finished_at) == (SyncStatus.RETRYING, "timeout", None)
    assert outbox.events == []


async def test_the_last_failure_ends_the_sync_and_is_announced(session: AsyncSession) -> None:
    outbox = Outbox()
    job = await _job(session, SyncTrigger.SCHEDULED, attempt=3)
    row = await attempts.fail(session, outbox, job, "x" * 3000, None, NOW)  # type: ignore[arg-type]
    assert row.status is SyncStatus.FAILED and row.error == "x" * 2000
    [synced] = outbox.synced()
    assert (synced.trigger, synced.outcome, synced.records, synced.rejected) == (
        "scheduled",
        "failed",
        0,
        0,
    )
    assert synced.error == "x" * 2000
