"""Ingest-only throughput on the real stack: records per second from the first request to the
last Kafka acknowledgement.

The services run already (``make up``); this posts generated records through the gateway in
batches of 10,000 and waits until ingest's outbox is empty: the relay deletes outbox rows only
after Kafka acknowledged them, so an empty outbox means every event of the run was acked.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.ingest.models import outbox
from shared.settings import ServiceSettings
from tools.sample import as_usage_json, generate

BATCH = 10_000
WINDOW_DAYS = 300
POLL_SECONDS = 0.05


def bench_records(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` records of a sample MSP large enough to have them in the last ``WINDOW_DAYS``
    days (all valid, the latest day yesterday in UTC)."""
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=WINDOW_DAYS - 1)
    companies = 40
    msp = generate(seed, companies, end.strftime("%Y-%m"))
    while msp.record_count(start, end) < n:
        companies *= 2
        msp = generate(seed, companies, end.strftime("%Y-%m"))
    return [as_usage_json(r) for r in islice(msp.records(start, end), n)]


async def _outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)


async def _drained(engine: AsyncEngine, deadline: float) -> None:
    while await _outbox_rows(engine):
        if time.perf_counter() > deadline:
            raise TimeoutError("ingest's outbox did not drain in time")
        await asyncio.sleep(POLL_SECONDS)


async def ingest_only(
    n: int,
    *,
    gateway_url: str | None = None,
    api_key: str | None = None,
    database_url: str | None = None,
    seed: int | None = None,
    concurrency: int = 1,
    max_seconds: float = 1800.0,
) -> dict[str, Any]:
    """Posts ``n`` generated records (10,000 a request) and measures until ingest's outbox is
    empty. Starts nothing: the gateway (``gateway_url``, default ``ICB_BENCH_GATEWAY_URL`` or
    http://127.0.0.1:8000) and an ``ingest`` or ``admin`` key (``api_key``, default
    ``ICB_BENCH_API_KEY``) must be there; the outbox is read on ``database_url`` (default
    ``ICB_DATABASE_URL``). A new ``seed`` (default: the clock) makes every run's records new."""
    url = gateway_url or os.environ.get("ICB_BENCH_GATEWAY_URL", "http://127.0.0.1:8000")
    key = api_key or os.environ.get("ICB_BENCH_API_KEY")
    if not key:
        raise ValueError("an API key is needed (api_key or ICB_BENCH_API_KEY)")
    records = bench_records(n, seed if seed is not None else time.time_ns() % 2**31)
    bodies = [
        json.dumps({"records": records[i : i + BATCH]}).encode()
        for i in range(0, len(records), BATCH)
    ]
    engine = create_async_engine(database_url or ServiceSettings().database_url, poolclass=NullPool)
    totals = {"accepted": 0, "unchanged": 0, "corrected": 0, "rejected": 0}
    gate = asyncio.Semaphore(concurrency)
    try:
        await _drained(engine, time.perf_counter() + 60)  # nobody else's backlog counts
        async with httpx.AsyncClient(
            base_url=url,
            timeout=max_seconds,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        ) as client:

            async def post(body: bytes) -> None:
                async with gate:
                    response = await client.post("/v1/usage", content=body)
                response.raise_for_status()
                answer = response.json()
                for name in ("accepted", "unchanged", "corrected"):
                    totals[name] += answer[name]
                totals["rejected"] += len(answer["rejected"])

            started = time.perf_counter()
            await asyncio.gather(*(post(body) for body in bodies))
            posted = time.perf_counter()
        await _drained(engine, started + max_seconds)
        acked = time.perf_counter()
    finally:
        await engine.dispose()
    seconds = acked - started
    return {
        "benchmark": "ingest_only",
        "records": n,
        "requests": len(bodies),
        **totals,
        "post_seconds": round(posted - started, 3),
        "seconds": round(seconds, 3),
        "records_per_second": round(n / seconds, 1) if seconds > 0 else None,
    }
