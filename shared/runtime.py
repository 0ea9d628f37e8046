"""What a running service holds, typed: its database and background loops, and for the
services that take part in the event flow, the bus, the outbox relay and the consumers.

The same runtime serves a service alone (Kafka, PostgreSQL) and inside the embedded process
(in-process bus, SQLite or PostgreSQL): only the engine and the bus differ. Each service
subclasses one of these with the parts of its own as typed attributes
(``services/<name>/runtime.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus import Bus
from shared.consumer import BatchHandler, EventConsumer, EventHandler
from shared.db import session_factory
from shared.events import Event
from shared.observability import metrics
from shared.outbox import Outbox, OutboxRelay, sample_backlog
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
Loop = Callable[[], Coroutine[Any, Any, None]]


class BaseRuntime:
    """The engine, its sessions and the background loops of one service."""

    settings: ServiceSettings

    def __init__(self, name: str, settings: ServiceSettings, engine: AsyncEngine) -> None:
        self.name = name
        self.settings = settings
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.background: list[Loop] = []
        """Loops ``start`` runs beside the service's own (e.g. a scheduler)."""
        self._tasks: list[asyncio.Task[None]] = []

    def loops(self) -> list[Loop]:
        return list(self.background)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work, committed when the block ends without an error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def start(self) -> None:
        for loop in self.loops():
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

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """The runtime as a process of its own: its loops run while the app serves."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()
            await self.engine.dispose()

    async def check_database(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def readiness(self) -> dict[str, bool]:
        """What ``/readyz`` checks: each name with whether it answers."""
        return {"database": await self.check_database()}


class EventRuntime(BaseRuntime):
    """A service in the event flow: it publishes through its outbox, consumes through its
    inbox, and relays the outbox to the bus."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        engine: AsyncEngine,
        bus: Bus,
        outbox_table: Table,
        inbox_table: Table,
    ) -> None:
        super().__init__(name, settings, engine)
        self.bus = bus
        self.outbox_table = outbox_table
        self.inbox_table = inbox_table
        self.outbox = Outbox(outbox_table, settings.topic_prefix)
        self.relay = OutboxRelay(
            self.outbox,
            self.sessions,
            bus,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            service=name,
        )
        self.consumers: list[EventConsumer] = []
        self._unregister_metrics: Callable[[], None] | None = None

    def consume(
        self,
        group_suffix: str,
        handlers: dict[type[Event], EventHandler],
        batch_handlers: dict[type[Event], BatchHandler] | None = None,
    ) -> None:
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
                batch_handlers=batch_handlers or {},
            )
        )

    @property
    def topics(self) -> list[str]:
        return [t for c in self.consumers for t in c.topics]

    def loops(self) -> list[Loop]:
        return [self.relay.run, *(c.run for c in self.consumers), *super().loops()]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work; the outbox relay is woken once it committed."""
        async with super().transaction() as session:
            yield session
        self.relay.notify()

    async def sample_outbox(self) -> None:
        await sample_backlog(self.name, self.outbox_table, self.sessions)

    async def start(self) -> None:
        self._unregister_metrics = metrics.on_scrape(self.sample_outbox)
        await super().start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        if self._unregister_metrics is not None:
            self._unregister_metrics()
            self._unregister_metrics = None
        await super().stop(grace_seconds)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        await self.bus.start()
        try:
            async with super().serving():
                yield
        finally:
            await self.bus.stop()

    async def readiness(self) -> dict[str, bool]:
        return {**await super().readiness(), "bus": await self.bus.ping()}


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped", task.get_name(), exc_info=task.exception())
