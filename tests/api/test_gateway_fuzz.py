"""Schemathesis against the gateway's aggregated OpenAPI document, on the embedded system
served over real HTTP: no 5xx, and every answer as the document describes it. Bounded: a
fixed number of examples per operation and mode (about a minute and a half), on SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from launcher.embedded import EmbeddedSystem
from services.gateway import models
from services.gateway.keys import create_tenant
from shared.db import create_all, create_engine, session_factory, sqlite_url
from tests.conftest import BACKENDS
from tests.support.fuzz import fuzz_gateway
from tests.support.postgres import TemplateDatabases

EXAMPLES = 20


@dataclass(frozen=True)
class Target:
    url: str
    key: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _tenant(data: Path, database_url: str | None) -> str:
    """As ``icb tenant create`` does: a tenant and its key in the gateway's database (on
    SQLite its file, created here)."""
    engine = create_engine(database_url or sqlite_url(data, "gateway"), models.SCHEMA)
    try:
        if database_url is None:
            await create_all(engine, models.Base.metadata)
        async with session_factory(engine)() as session, session.begin():
            return (await create_tenant(session, "Fuzzed MSP")).key
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
async def fuzz_target(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: TemplateDatabases,
) -> AsyncIterator[Target]:
    """The embedded system behind uvicorn, in a thread with an event loop of its own."""
    data = tmp_path_factory.mktemp("fuzz")
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = await stack.enter_async_context(postgres_databases.fresh())
        key = await _tenant(data, url)
        system = EmbeddedSystem(
            data,
            database_url=url,
            environment="test",
            rate_limit_per_second=1e6,
            rate_limit_burst=1_000_000,
        )
        # Saved connections are tried against the module: fuzzed URLs go nowhere, the module
        # answers every try with 401 (the traffic stays in the process).
        system.ingest.syncer.transport = httpx.MockTransport(lambda _: httpx.Response(401))
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                system.app, host="127.0.0.1", port=port, log_level="warning", access_log=False
            )
        )
        thread = threading.Thread(target=server.run, name="fuzzed-gateway", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            await asyncio.sleep(0.05)
        try:
            yield Target(f"http://127.0.0.1:{port}", key)
        finally:
            server.should_exit = True
            await asyncio.to_thread(thread.join, 30)


def test_the_public_api_holds_to_its_document(fuzz_target: Target) -> None:
    failures = fuzz_gateway(fuzz_target.url, fuzz_target.key, EXAMPLES)
    assert not failures, "\n\n".join(failures)
