"""Fixtures every test folder may use: the embedded system behind an API client, on SQLite
and on PostgreSQL (``ICB_DATABASE_URL``; unreachable fails the PostgreSQL variants)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.embedded import EmbeddedSystem
from services.gateway.keys import create_tenant
from shared.settings import ServiceSettings
from tests.support.postgres import TemplateDatabases

BACKENDS = ("sqlite", "postgresql")


@dataclass
class EmbeddedApi:
    system: EmbeddedSystem
    client: httpx.AsyncClient
    key: str
    tenant_id: str

    async def settle(self, timeout: float = 30) -> None:
        """Waits until every outbox is empty and every consumer caught up."""
        try:
            await self.system.settle(timeout, poll=0.02)
        except TimeoutError as exc:
            raise AssertionError("the embedded pipeline did not settle") from exc

    async def new_tenant(self, name: str = "Other MSP", timezone: str = "UTC") -> httpx.AsyncClient:
        key, _ = await _tenant(self.system, name, timezone)
        return _client(self.system, key)


async def _tenant(system: EmbeddedSystem, name: str, timezone: str) -> tuple[str, str]:
    async with system.gateway.sessions() as session, session.begin():
        issued = await create_tenant(session, name, timezone)
    return issued.key, issued.row.tenant_id


def _client(system: EmbeddedSystem, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=system.app),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


@pytest.fixture(scope="session")
async def postgres_databases() -> AsyncIterator[TemplateDatabases]:
    """Migrated on first use, so that SQLite-only runs need no PostgreSQL."""
    databases = TemplateDatabases(ServiceSettings().database_url, prefix="icb_api")
    yield databases
    await databases.drop()


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


EmbeddedApiFactory = Callable[..., contextlib.AbstractAsyncContextManager[EmbeddedApi]]


@pytest.fixture
async def make_embedded_api(
    database_backend: str, postgres_databases: TemplateDatabases, tmp_path: Path
) -> AsyncIterator[EmbeddedApiFactory]:
    """Builds embedded systems on the test's backend, each with a fresh database and a
    tenant; keyword arguments override service options (``rate_limit_burst=...``)."""
    made = 0

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[EmbeddedApi]:
        nonlocal made
        made += 1
        data_dir = tmp_path / f"data{made}"
        async with contextlib.AsyncExitStack() as stack:
            url = None
            if database_backend == "postgresql":
                url = await stack.enter_async_context(postgres_databases.fresh())
            options = {"environment": "test", **overrides}
            system = EmbeddedSystem(data_dir, database_url=url, **options)
            await system.start()
            stack.push_async_callback(system.stop)
            key, tenant_id = await _tenant(system, "Test MSP", "UTC")
            client = await stack.enter_async_context(_client(system, key))
            yield EmbeddedApi(system, client, key, tenant_id)

    yield make


@pytest.fixture
async def embedded_api(make_embedded_api: EmbeddedApiFactory) -> AsyncIterator[EmbeddedApi]:
    """A fresh embedded system (in-process bus; SQLite files or a PostgreSQL database) and a
    tenant."""
    async with make_embedded_api() as api:
        yield api
