"""Schemathesis against the gateway's aggregated OpenAPI document, on the embedded system
served over real HTTP: no 5xx, and every answer as the document describes it. Bounded: a
fixed number of examples per operation and mode (about a minute and a half)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from launcher.embedded import EmbeddedSystem, sqlite_url
from services.gateway import models
from services.gateway.keys import create_tenant
from shared.db import create_all, create_engine, session_factory
from tests.support.fuzz import fuzz_gateway

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


async def _tenant(data: Path) -> str:
    """As ``icb tenant create --data-dir`` does: the gateway's file, a tenant, its key."""
    engine = create_engine(sqlite_url(data, "gateway"), models.SCHEMA)
    try:
        await create_all(engine, models.Base.metadata)
        async with session_factory(engine)() as session, session.begin():
            return (await create_tenant(session, "Fuzzed MSP")).key
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The embedded system behind uvicorn, in a thread with an event loop of its own."""
    data = tmp_path_factory.mktemp("fuzz")
    key = asyncio.run(_tenant(data))
    system = EmbeddedSystem(
        data, environment="test", rate_limit_per_second=1e6, rate_limit_burst=1_000_000
    )
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
        time.sleep(0.05)
    try:
        yield Target(f"http://127.0.0.1:{port}", key)
    finally:
        server.should_exit = True
        thread.join(30)


def test_the_public_api_holds_to_its_document(fuzz_target: Target) -> None:
    failures = fuzz_gateway(fuzz_target.url, fuzz_target.key, EXAMPLES)
    assert not failures, "\n\n".join(failures)
