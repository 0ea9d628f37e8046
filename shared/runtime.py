"""What a running service holds: its database, the bus, its outbox relay and its consumers.

The same runtime serves a service alone (Kafka, PostgreSQL) and inside the embedded process
(in-process bus, SQLite): only the engine and the bus differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus import Bus
from shared.consumer import EventConsumer, EventHandler
from shared.context import CallerContext, verify
from shared.db import session_factory
from shared.events import Event
from shared.outbox import Outbox, OutboxRelay
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    name: str
    settings: Settings
    engine: AsyncEngine
    bus: Bus
    metadata: MetaData
    outbox_table: Table
    inbox_table: Table
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    outbox: Outbox = field(init=False)
    relay: OutboxRelay = field(init=False)
    consumers: list[EventConsumer] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Further loops ``start`` runs next to the relay and the consumers (e.g. a scheduler)."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.outbox = Outbox(self.outbox_table, self.settings.topic_prefix)
        self.relay = OutboxRelay(
            self.outbox,
            self.sessions,
            self.bus,
            batch_size=self.settings.outbox_batch_size,
            poll_seconds=self.settings.outbox_poll_seconds,
        )

    def consume(self, group_suffix: str, handlers: dict[type[Event], EventHandler]) -> None:
        self.consumers.append(
            EventConsumer(
                group=f"{self.settings.topic_prefix}{self.name}.{group_suffix}",
                bus=self.bus,
                sessions=self.sessions,
                inbox=self.inbox_table,
                handlers=handlers,
                topic_prefix=self.settings.topic_prefix,
                after_commit=self.relay.notify,
                batch_size=self.settings.consumer_batch_size,
            )
        )

    @property
    def topics(self) -> list[str]:
        return [t for c in self.consumers for t in c.topics]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work; the outbox relay is woken once it committed."""
        async with self.sessions() as session, session.begin():
            yield session
        self.relay.notify()

    async def start(self) -> None:
        loops: list[Callable[[], Any]] = [
            self.relay.run,
            *(c.run for c in self.consumers),
            *self.background,
        ]
        for loop in loops:
            task = asyncio.create_task(loop(), name=f"{self.name}:{loop.__qualname__}")
            task.add_done_callback(_report_crash)
            self._tasks.append(task)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Cancels the background loops; one that does not end within the grace period is
        logged and left behind rather than hanging the shutdown."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in pending:
                log.error("background task %s did not stop when cancelled", task.get_name())
        self._tasks.clear()

    async def check_database(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped", task.get_name(), exc_info=task.exception())


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def caller(request: Request) -> CallerContext:
    return verify(runtime_of(request).settings.internal_secret, request)
