"""A client told to come back after ``Retry-After`` finds its pooled connection still open:
the server keeps idle connections well past that wait, so the request sent again cannot meet
a connection the server is just closing (a reset, not an answer)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import uvicorn

from launcher.serve import KEEP_ALIVE_SECONDS, SERVER_OPTIONS
from shared.problems import RETRY_AFTER_SECONDS
from tests.support.stack import free_port


async def client_port(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the client's port: the same port twice means one connection."""
    assert scope["type"] == "http"
    body = str(scope["client"][1]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_connection_idle_for_the_retry_after_wait_is_still_open() -> None:
    assert KEEP_ALIVE_SECONDS > RETRY_AFTER_SECONDS
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(client_port, host="127.0.0.1", port=port, **SERVER_OPTIONS)
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the server did not start"
            await asyncio.sleep(0.02)
        limits = httpx.Limits(keepalive_expiry=KEEP_ALIVE_SECONDS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
            first = await client.get("/")
            await asyncio.sleep(RETRY_AFTER_SECONDS + 0.5)
            again = await client.get("/")
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.text == first.text, "the server closed the idle connection"
    finally:
        server.should_exit = True
        await serving
