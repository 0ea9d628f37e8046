"""Every service in one process: the same service code on the in-process bus.

The database is SQLite (a file per service in the data directory) or one PostgreSQL database
with each service in its own schema, as the full stack has it (migrated beforehand, as for
the services). The gateway reaches the other services through in-process ASGI transports
instead of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway import app as gateway
from services.gateway.runtime import GatewayRuntime
from services.ingest import app as ingest
from services.ingest.runtime import IngestRuntime
from services.invoicing import app as invoicing
from services.invoicing.runtime import InvoicingRuntime
from services.mapping import app as mapping
from services.mapping.runtime import MappingRuntime
from shared.bus import InProcessBus
from shared.db import create_all, create_engine, is_sqlite, sqlite_url
from shared.runtime import BaseRuntime, EventRuntime
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings, unknown_options

SETTINGS: tuple[type[ServiceSettings], ...] = (
    ingest.SETTINGS,
    mapping.SETTINGS,
    invoicing.SETTINGS,
    gateway.SETTINGS,
)
SCHEMAS: dict[str, tuple[str, MetaData]] = {
    "ingest": (ingest.SCHEMA_NAME, ingest.metadata),
    "mapping": (mapping.SCHEMA_NAME, mapping.metadata),
    "invoicing": (invoicing.SCHEMA_NAME, invoicing.metadata),
    "gateway": (gateway.SCHEMA_NAME, gateway.metadata),
}


class EmbeddedSystem:
    """``overrides`` set options of every service that has them (e.g. ``environment``,
    ``rate_limit_burst``); the rest come from the environment. ``database_url`` None means
    SQLite files in ``data_dir``; a PostgreSQL URL names a migrated database."""

    def __init__(
        self, data_dir: Path, *, database_url: str | None = None, **overrides: Any
    ) -> None:
        if unknown := unknown_options(SETTINGS, overrides):
            raise TypeError(f"no service has the option(s) {', '.join(unknown)}")
        if database_url is None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.sqlite = database_url is None or is_sqlite(database_url)
        self.bus = InProcessBus()

        def engine(name: str, settings: ServiceSettings) -> AsyncEngine:
            schema, _ = SCHEMAS[name]
            if database_url is None:
                return create_engine(sqlite_url(data_dir, name), schema)
            return create_engine(database_url, schema, settings.database_pool_size)

        url = {} if database_url is None else {"database_url": database_url}
        options = {**overrides, **url}
        ingest_settings = ingest.SETTINGS.with_overrides(options)
        mapping_settings = mapping.SETTINGS.with_overrides(options)
        invoicing_settings = invoicing.SETTINGS.with_overrides(options)
        gateway_settings = gateway.SETTINGS.with_overrides(options)

        self.ingest: IngestRuntime = ingest.build_runtime(
            ingest_settings, engine("ingest", ingest_settings), self.bus
        )
        self.mapping: MappingRuntime = mapping.build_runtime(
            mapping_settings, engine("mapping", mapping_settings), self.bus
        )
        mapping_app = mapping.create_app(self.mapping, manage_runtime=False)
        self.invoicing: InvoicingRuntime = invoicing.build_runtime(
            invoicing_settings,
            engine("invoicing", invoicing_settings),
            self.bus,
            mapping=ServiceClient(
                "http://mapping",
                invoicing_settings.internal_secret,
                transport=httpx.ASGITransport(app=mapping_app),
            ),
        )
        self.apps: dict[str, FastAPI] = {
            "ingest": ingest.create_app(self.ingest, manage_runtime=False),
            "mapping": mapping_app,
            "invoicing": invoicing.create_app(self.invoicing, manage_runtime=False),
        }
        self.gateway: GatewayRuntime = gateway.build_runtime(
            gateway_settings,
            engine("gateway", gateway_settings),
            clients={
                name: httpx.AsyncClient(
                    base_url=f"http://{name}",
                    transport=httpx.ASGITransport(app=app),
                    timeout=gateway_settings.upstream_timeout_seconds,
                )
                for name, app in self.apps.items()
            },
        )
        self.apps["gateway"] = gateway.create_app(self.gateway, manage_runtime=False)
        self.runtimes: dict[str, BaseRuntime] = {
            "ingest": self.ingest,
            "mapping": self.mapping,
            "invoicing": self.invoicing,
            "gateway": self.gateway,
        }
        # Publishing waits for every consumer of the topic (see ``InProcessBus``): what the
        # outbox relays hand over stays in their outboxes until it is handled.
        for runtime in self.event_runtimes:
            for consumer in runtime.consumers:
                self.bus.subscribe(consumer.group, consumer.topics)
        self.app = self.apps["gateway"]
        self.app.router.lifespan_context = self.lifespan

    @property
    def event_runtimes(self) -> tuple[EventRuntime, ...]:
        return (self.ingest, self.mapping, self.invoicing)

    async def start(self) -> None:
        if self.sqlite:  # PostgreSQL databases are migrated, as for the services alone
            for name, runtime in self.runtimes.items():
                await create_all(runtime.engine, SCHEMAS[name][1])
        await self.bus.start()
        for runtime in self.runtimes.values():
            await runtime.start()

    async def stop(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.stop()
        await self.bus.stop()
        for runtime in self.runtimes.values():
            await runtime.engine.dispose()

    async def idle(self) -> bool:
        """Whether every consumer has caught up with the bus, no mapping change awaits its
        re-resolution and every outbox is empty, all at one moment: a consumer commits its
        offset after its outbox rows and a relay deletes rows after publishing them, so the
        consumers are checked before and after the tables, and nothing may have been
        published in between."""
        published = self.bus.published_count()
        if not self.consumers_caught_up():
            return False
        if await self.mapping.resolution_queue.waiting() or not await self.outboxes_empty():
            return False
        return self.bus.published_count() == published and self.consumers_caught_up()

    def consumers_caught_up(self) -> bool:
        return all(
            self.bus.caught_up(consumer.group, consumer.topics)
            for runtime in self.event_runtimes
            for consumer in runtime.consumers
        )

    async def outboxes_empty(self) -> bool:
        """Whether every service has handed all its committed events to the bus."""
        for runtime in self.event_runtimes:
            async with runtime.sessions() as session:
                if await session.scalar(select(runtime.outbox_table.c.id).limit(1)) is not None:
                    return False
        return True

    async def settle(self, timeout: float = 600, poll: float = 0.2) -> None:
        """Waits until the pipeline is idle (see ``idle``)."""
        deadline = time.monotonic() + timeout
        while not await self.idle():
            if time.monotonic() > deadline:
                raise TimeoutError("the pipeline did not settle")
            await asyncio.sleep(poll)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
