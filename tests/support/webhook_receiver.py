"""A real local HTTP server that receives webhooks, for the tests: it records every request
(headers and body) and answers with the status the test chose, optionally after a delay."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda _r: 204
    delay: Callable[[Received], float] = lambda _r: 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    async def wait_for(
        self, count: int, path: str = "/hook", timeout: float = 30
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(found := self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} webhooks arrived at {path}")
            await asyncio.sleep(0.05)
        return found


@contextmanager
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = Received(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length).decode(),
            )
            target = box[0]
            with target.lock:
                target.received.append(request)
            time.sleep(target.delay(request))
            self.send_response(target.answer(request))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
