"""Two requests storing the same new record at once on real PostgreSQL: the second waits for
the first to commit, then answers exactly what it did to the stored record (a correction, or
nothing), and the revisions count every quantity once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.models import UsageRecordRow
from services.ingest.usage.repository import StoreResult, store_usage
from services.ingest.usage.validation import ValidRecord
from shared.db import create_engine, session_factory
from shared.migrations import migrate_all

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate_all, fresh_database_url)
    engine = create_engine(fresh_database_url, "ingest", 4)
    try:
        yield engine
    finally:
        await engine.dispose()


def record(org_id: str, quantity: str, name: str = "Acme") -> ValidRecord:
    return ValidRecord("datto_rmm", org_id, name, "devices", DAY, Decimal(quantity))


async def race(
    engine: AsyncEngine, tenant_id: str, first: list[ValidRecord], second: list[ValidRecord]
) -> tuple[StoreResult, StoreResult]:
    """``first`` is stored and held uncommitted while ``second`` is stored beside it; the
    first commits only once the second waits for it."""
    sessions = session_factory(engine)
    async with sessions() as a, sessions() as b:
        async with a.begin():
            one = await store_usage(a, tenant_id, first, NOW)

            async def other() -> StoreResult:
                async with b.begin():
                    return await store_usage(b, tenant_id, second, NOW)

            task = asyncio.create_task(other())
            await until_one_waits_for_a_lock(engine, task)
        return one, await task


async def until_one_waits_for_a_lock(engine: AsyncEngine, task: asyncio.Task[StoreResult]) -> None:
    """Returns once a session of the database waits for a lock (the second request, on the
    first one's new keys); fails if the second request finishes without waiting."""
    async with engine.connect() as conn:
        for _ in range(200):
            assert not task.done(), "the second request did not wait for the first one's keys"
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the second request never waited for a lock")


async def stored(engine: AsyncEngine, tenant_id: str) -> dict[str, tuple[Decimal, int, str]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(UsageRecordRow).where(UsageRecordRow.tenant_id == tenant_id)
        )
        return {r.org_id: (r.quantity, r.revision, r.org_name) for (r,) in rows}


def counts(result: StoreResult) -> tuple[int, int, int]:
    return result.accepted, result.corrected, result.unchanged


async def test_the_later_of_two_new_records_is_a_correction(engine: AsyncEngine) -> None:
    tenant_id = str(uuid.uuid4())
    one, two = await race(
        engine,
        tenant_id,
        [record("o1", "5"), record("o2", "3")],
        [record("o1", "7"), record("o2", "3", name="Acme Ltd"), record("o3", "1")],
    )
    assert counts(one) == (2, 0, 0)
    assert counts(two) == (1, 1, 1)
    assert {(r.org_id, r.quantity, r.revision) for r in two.changed} == {
        ("o1", Decimal("7.0000"), 2),
        ("o2", Decimal("3.0000"), 1),  # renamed only: the same revision, a new name
        ("o3", Decimal("1.0000"), 1),
    }
    assert await stored(engine, tenant_id) == {
        "o1": (Decimal("7.0000"), 2, "Acme"),
        "o2": (Decimal("3.0000"), 1, "Acme Ltd"),
        "o3": (Decimal("1.0000"), 1, "Acme"),
    }


async def test_the_same_record_sent_twice_at_once_is_stored_once(engine: AsyncEngine) -> None:
    tenant_id = str(uuid.uuid4())
    one, two = await race(engine, tenant_id, [record("o1", "5")], [record("o1", "5")])
    assert counts(one) == (1, 0, 0)
    assert counts(two) == (0, 0, 1)
    assert two.changed == []
    assert await stored(engine, tenant_id) == {"o1": (Decimal("5.0000"), 1, "Acme")}
