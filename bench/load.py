"""Usage through the gateway the way the bench posts it: the records in requests of ``BATCH``,
``CONCURRENT_REQUESTS`` at a time, the latency of each request taken. The end-to-end bench
times it; the kill-under-load test posts the same way while it kills services, with retries
on, as a real integration would: the same request again on a connection error, a 429 or a
5xx, after ``Retry-After`` or a short back-off."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.sample.load import batches
from tools.sample.model import SampleRecord

BATCH = 1_000
"""records per request: the size the ingest latency target is set for"""
CONCURRENT_REQUESTS = 4
RETRY_SECONDS = 120.0
"""how long a retrying load keeps sending one request before it gives up"""
RETRY_AFTER_CAP = 5.0

Pace = Callable[[int], Awaitable[None]]
"""awaited with a request's index before it takes its turn (a test holds the load there)"""


def usage_bodies(records: Iterable[SampleRecord], size: int = BATCH) -> list[bytes]:
    """The ``POST /v1/usage`` bodies of ``records``, ``size`` records each."""
    return [json.dumps({"records": b}).encode() for b in batches(records, size)]


class LoadFailed(RuntimeError):
    """A retrying load got no answer it could use in time."""


@dataclass
class UsageLoad:
    """Posts ``bodies`` to ``/v1/usage``, ``concurrency`` at a time. Without ``retry`` an
    answer other than 2xx fails the load; with it, a connection error, a 429 or a 5xx sends
    the same body again, and ``retried`` notes why (``"503"``, ``"ConnectError"``)."""

    client: httpx.AsyncClient
    bodies: list[bytes]
    concurrency: int = CONCURRENT_REQUESTS
    retry: bool = False
    pace: Pace | None = None
    latencies: list[float] = field(default_factory=list)
    """seconds per request, retries included, in the order the answers came"""
    retried: list[str] = field(default_factory=list)
    responses: list[httpx.Response | None] = field(init=False)
    """the final answer of each request (None while it has none)"""

    def __post_init__(self) -> None:
        self.responses = [None] * len(self.bodies)

    @property
    def answered(self) -> int:
        return sum(1 for r in self.responses if r is not None)

    def answers(self) -> list[Any]:
        """The final answer of each request, decoded, in the order of ``bodies``."""
        return [None if r is None else r.json() for r in self.responses]

    async def run(self) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def post(i: int, body: bytes) -> None:
            if self.pace is not None:
                await self.pace(i)
            async with gate:
                t0 = time.perf_counter()
                response = await (self._retrying(body) if self.retry else self._post(body))
                self.latencies.append(time.perf_counter() - t0)
                response.raise_for_status()
                self.responses[i] = response

        await asyncio.gather(*(post(i, b) for i, b in enumerate(self.bodies)))

    async def _post(self, body: bytes) -> httpx.Response:
        return await self.client.post(
            "/v1/usage", content=body, headers={"content-type": "application/json"}
        )

    async def _retrying(self, body: bytes) -> httpx.Response:
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.1
        while True:
            wait = pause
            try:
                response = await self._post(body)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                reason = str(response.status_code)
                after = response.headers.get("retry-after", "")
                if after.replace(".", "", 1).isdigit():
                    wait = min(float(after), RETRY_AFTER_CAP) or pause
            self.retried.append(reason)
            if time.monotonic() > deadline:
                raise LoadFailed(f"POST /v1/usage: no usable answer in {RETRY_SECONDS:g}s")
            await asyncio.sleep(wait)
            pause = min(pause * 2, 2.0)
