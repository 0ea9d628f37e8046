"""Inbox: the ids of events a service has processed, claimed in the effect's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import dialect_of, insert


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


async def claim(session: AsyncSession, table: Table, ids: Sequence[uuid.UUID]) -> set[str]:
    """Records the ids; answers those seen for the first time."""
    if not ids:
        return set()
    now = datetime.now(UTC)
    stmt = (
        insert(table, dialect_of(session))
        .values([{"event_id": str(i), "processed_at": now} for i in ids])
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())
