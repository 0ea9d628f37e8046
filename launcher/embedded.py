"""Every service in one process: SQLite files, the in-process bus, the same service code.

The gateway reaches the other services through in-process ASGI transports instead of HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from launcher.registry import SERVICES
from shared.bus import InProcessBus
from shared.db import create_all, create_engine, sqlite_url
from shared.runtime import ServiceRuntime
from shared.service_client import ServiceClient
from shared.settings import Settings


class EmbeddedSystem:
    def __init__(self, settings: Settings, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.bus = InProcessBus()
        engines = {
            name: create_engine(sqlite_url(data_dir, name), module.SCHEMA_NAME)
            for name, module in SERVICES.items()
        }
        ingest, mapping, invoicing, gateway = (
            SERVICES[n] for n in ("ingest", "mapping", "invoicing", "gateway")
        )
        self.runtimes: dict[str, ServiceRuntime] = {}
        apps: dict[str, FastAPI] = {}

        def add(name: str, runtime: ServiceRuntime) -> None:
            self.runtimes[name] = runtime
            apps[name] = SERVICES[name].create_app(runtime, manage_runtime=False)

        add("ingest", ingest.build_runtime(settings, engines["ingest"], self.bus))
        add("mapping", mapping.build_runtime(settings, engines["mapping"], self.bus))
        add(
            "invoicing",
            invoicing.build_runtime(
                settings,
                engines["invoicing"],
                self.bus,
                mapping=ServiceClient(
                    "http://mapping",
                    settings.internal_secret,
                    transport=httpx.ASGITransport(app=apps["mapping"]),
                ),
            ),
        )
        add(
            "gateway",
            gateway.build_runtime(
                settings,
                engines["gateway"],
                self.bus,
                clients={
                    name: httpx.AsyncClient(
                        base_url=f"http://{name}",
                        transport=httpx.ASGITransport(app=apps[name]),
                        timeout=settings.upstream_timeout_seconds,
                    )
                    for name in ("ingest", "mapping", "invoicing")
                },
            ),
        )
        self.apps = apps
        self.app = apps["gateway"]
        self.app.router.lifespan_context = self.lifespan

    async def start(self) -> None:
        for name, runtime in self.runtimes.items():
            await create_all(runtime.engine, SERVICES[name].metadata)
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
        """Whether every outbox is empty and every consumer has caught up with the bus."""
        for runtime in self.runtimes.values():
            async with runtime.sessions() as session:
                if await session.scalar(select(runtime.outbox_table.c.id).limit(1)) is not None:
                    return False
            for consumer in runtime.consumers:
                if not self.bus.caught_up(consumer.group, consumer.topics):
                    return False
        return True

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
