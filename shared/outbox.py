"""Transactional outbox: events are written with the business rows, then relayed to the bus.

A crash between publishing and deleting the rows publishes them again; consumers dedupe by
event id, so the effect stays single. Each row keeps the trace context it was written in, so
the trace of a request goes on in the consumers of its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus import Bus, Headers
from shared.db import BigId, dialect_of
from shared.drain import DrainLoop
from shared.events import Event, encode, topic_for
from shared.observability import metrics
from shared.observability.tracing import current_context, headers_of


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=True),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("trace_context", String(512), nullable=True),
    )


class Outbox:
    def __init__(self, table: Table, topic_prefix: str) -> None:
        self.table = table
        self.topic_prefix = topic_prefix

    async def add(self, session: AsyncSession, tenant_id: str, *events: Event) -> None:
        if not events:
            return
        now = datetime.now(UTC)
        trace_context = current_context()
        await session.execute(
            self.table.insert(),
            [
                {
                    "topic": topic_for(self.topic_prefix, e.TYPE),
                    "key": e.partition_key(tenant_id)[:200],
                    "payload": encode(tenant_id, e),
                    "created_at": now,
                    "trace_context": trace_context,
                }
                for e in events
            ],
        )


class OutboxRelay(DrainLoop):
    """Moves committed outbox rows to the bus in order; woken by ``notify`` or a poll."""

    def __init__(
        self,
        outbox: Outbox,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        batch_size: int = 1000,
        poll_seconds: float = 0.5,
        service: str = "",
    ) -> None:
        self._table = outbox.table
        self._service = service
        self._sessions = sessions
        self._bus = bus
        self._batch_size = batch_size
        super().__init__(poll_seconds, "outbox relay")

    async def drain_once(self) -> int:
        if getattr(self._bus, "acknowledges_after_consumption", False):
            return await self._drain_unlocked()
        t = self._table
        async with self._sessions() as session, session.begin():
            query = select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.trace_context)
            query = query.order_by(t.c.id)
            query = query.limit(self._batch_size)
            if dialect_of(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            await self._publish(rows)
            await session.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
        return len(rows)

    async def _drain_unlocked(self) -> int:
        """For a bus whose ``publish`` returns once the consumers handled the messages (the
        in-process bus): the rows are read, published and deleted in separate transactions,
        so the wait holds no lock or snapshot the consumers' writes would conflict with. A
        crash before the delete publishes the rows again (one relay per outbox here)."""
        t = self._table
        async with self._sessions() as session:
            query = select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.trace_context)
            rows = (await session.execute(query.order_by(t.c.id).limit(self._batch_size))).all()
        if not rows:
            return 0
        await self._publish(rows)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
        return len(rows)

    async def _publish(self, rows: Sequence[Any]) -> None:
        by_topic: dict[str, tuple[list[tuple[bytes | None, bytes]], list[Headers]]] = {}
        for row in rows:
            key = row.key.encode() if row.key else None
            messages, headers = by_topic.setdefault(row.topic, ([], []))
            messages.append((key, row.payload.encode()))
            headers.append(headers_of(row.trace_context))
        for topic, (messages, headers) in by_topic.items():
            await self._bus.publish(topic, messages, headers)
            metrics.OUTBOX_RELAYED.labels(self._service, topic).inc(len(messages))


async def sample_backlog(
    service: str, table: Table, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Sets the outbox gauges of ``service``: rows waiting and the age of the oldest."""
    async with sessions() as session:
        count, oldest = (
            await session.execute(select(func.count(), func.min(table.c.created_at)))
        ).one()
    metrics.OUTBOX_BACKLOG.labels(service).set(count)
    age = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite gives naive datetimes back
            oldest = oldest.replace(tzinfo=UTC)
        age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
    metrics.OUTBOX_OLDEST_AGE.labels(service).set(age)
