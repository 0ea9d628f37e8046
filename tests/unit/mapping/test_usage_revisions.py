"""Mapping's copy of usage keeps the newest revision of each key: an older or equal revision
changes nothing and answers nothing, a newer one replaces the quantity and counts the version
up. Run here on SQLite; the PostgreSQL run imports ``newest_revision_wins``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping import models
from services.mapping.models import UsageRow
from services.mapping.resolution.usage import record_usage
from shared.db import create_all, create_engine, session_factory
from shared.events import UsageRecord

DAY = date(2026, 3, 4)
Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def _record(org_id: str, quantity: str, revision: int) -> UsageRecord:
    return UsageRecord(
        module="datto_rmm",
        org_id=org_id,
        org_name=org_id.upper(),
        metric="servers",
        date=DAY,
        quantity=Decimal(quantity),
        revision=revision,
    )


async def newest_revision_wins(transaction: Transaction, tenant_id: str) -> None:
    async def write(*records: UsageRecord) -> list[tuple[str, Decimal, int]]:
        async with transaction() as session:
            resolved = await record_usage(session, tenant_id, records)
        return sorted((r.org_id, r.quantity, r.version) for r in resolved)

    assert await write(_record("a", "5", 2), _record("b", "1", 1)) == [
        ("a", Decimal("5.0000"), 1),
        ("b", Decimal("1.0000"), 1),
    ]
    # older and equal revisions: nothing answered, nothing stored
    assert await write(_record("a", "9", 1), _record("a", "7", 2)) == []
    # in one batch the newest revision of a key counts, whatever its place
    assert await write(_record("a", "6", 4), _record("a", "8", 3), _record("b", "2", 2)) == [
        ("a", Decimal("6.0000"), 2),
        ("b", Decimal("2.0000"), 2),
    ]
    async with transaction() as session:
        stored = (
            await session.execute(
                select(UsageRow.org_id, UsageRow.quantity, UsageRow.revision, UsageRow.version)
                .where(UsageRow.tenant_id == tenant_id)
                .order_by(UsageRow.org_id)
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        ("a", Decimal("6.0000"), 4, 2),
        ("b", Decimal("2.0000"), 2, 2),
    ]


@pytest.fixture
async def transaction() -> AsyncIterator[Transaction]:
    engine = create_engine("sqlite+aiosqlite://", models.SCHEMA)
    await create_all(engine, models.Base.metadata)
    sessions = session_factory(engine)

    @asynccontextmanager
    async def begun() -> AsyncIterator[AsyncSession]:
        async with sessions() as session, session.begin():
            yield session

    try:
        yield begun
    finally:
        await engine.dispose()


async def test_newest_revision_wins_on_sqlite(transaction: Transaction) -> None:
    await newest_revision_wins(transaction, "t1")
