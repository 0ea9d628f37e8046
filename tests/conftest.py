"""Fixtures every test folder may use: the embedded system behind an API client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launcher.embedded import EmbeddedSystem
from services.gateway.keys import create_tenant
from shared.settings import Settings


@dataclass
class EmbeddedApi:
    system: EmbeddedSystem
    client: httpx.AsyncClient
    key: str
    tenant_id: str

    async def settle(self, timeout: float = 30) -> None:
        """Waits until every outbox is empty and every consumer caught up."""
        deadline = time.monotonic() + timeout
        while not await self.system.idle():
            if time.monotonic() > deadline:
                raise AssertionError("the embedded pipeline did not settle")
            await asyncio.sleep(0.02)

    async def new_tenant(self, name: str = "Other MSP", timezone: str = "UTC") -> httpx.AsyncClient:
        key, _ = await _tenant(self.system, name, timezone)
        return _client(self.system, key)


async def _tenant(system: EmbeddedSystem, name: str, timezone: str) -> tuple[str, str]:
    gateway = system.runtimes["gateway"]
    async with gateway.sessions() as session, session.begin():
        issued = await create_tenant(session, name, timezone)
    return issued.key, issued.row.tenant_id


def _client(system: EmbeddedSystem, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=system.app),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


@pytest.fixture
async def embedded_api(tmp_path: Path) -> AsyncIterator[EmbeddedApi]:
    """A fresh embedded system (SQLite files in tmp_path, in-process bus) and a tenant."""
    system = EmbeddedSystem(Settings(environment="test"), tmp_path / "data")
    await system.start()
    try:
        key, tenant_id = await _tenant(system, "Test MSP", "UTC")
        async with _client(system, key) as client:
            yield EmbeddedApi(system, client, key, tenant_id)
    finally:
        await system.stop()
