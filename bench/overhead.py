"""The cost of tracing on the end-to-end throughput: the same load through a stack that
records and exports every span (OTLP to a sink that accepts and drops them) and through one
that exports none. Metrics are always on, in both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bench.e2e import end_to_end
from bench.stack import running_stack
from tools.sample import SampleMsp


@dataclass(frozen=True)
class Overhead:
    plain: float
    traced: float

    @property
    def percent(self) -> float:
        return (1 - self.traced / self.plain) * 100


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts OTLP/HTTP exports (keep-alive) and drops them."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def span_sink() -> AsyncIterator[str]:
    server = await asyncio.start_server(_sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def tracing_overhead(msp: SampleMsp, n: int) -> Overhead:
    async with running_stack() as stack:
        plain = await end_to_end(stack, msp, n)
    async with span_sink() as endpoint, running_stack({"ICB_OTLP_ENDPOINT": endpoint}) as stack:
        traced = await end_to_end(stack, msp, n)
    return Overhead(plain.per_second, traced.per_second)
