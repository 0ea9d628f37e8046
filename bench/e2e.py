"""End-to-end throughput: gateway -> ingest -> Kafka -> mapping -> Kafka -> invoicing -> unit
table, next to the raw baseline of the same records through aiokafka alone."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.load import UsageLoad, usage_bodies
from bench.stack import Stack
from tools.sample import SampleMsp, generate
from tools.sample.load import LoadReport, load_setup, map_orgs_by_truth


@dataclass(frozen=True)
class Throughput:
    records: int
    seconds: float
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time the services spent on the records (when the caller could read it)"""

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


def sample_for(n: int, period: str = "2026-10") -> SampleMsp:
    """A sample MSP with at least ``n`` records in the period."""
    probe = generate(seed=11, companies=50, period=period)
    companies = max(1, -(-n * 50 // probe.record_count()) + 5)
    return generate(seed=11, companies=companies, period=period)


async def raw_kafka(bootstrap: str, payloads: list[bytes]) -> Throughput:
    topic = f"bench.raw.{secrets.token_hex(4)}"
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1024 * 1024,
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, p, key=b"tenant") for p in payloads]
        await asyncio.gather(*futures)
        seen = 0
        while seen < len(payloads):
            got = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(v) for v in got.values())
        await consumer.commit()
        return Throughput(len(payloads), time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def _units(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM invoicing.units"))).scalar_one())


async def end_to_end(
    stack: Stack, msp: SampleMsp, n: int, cpu: Callable[[], float] | None = None
) -> Throughput:
    """``cpu`` reads the services' CPU seconds so far; it is read when the records start to
    flow and when the last reached the unit table."""
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers=headers, timeout=300
    ) as client:
        report = LoadReport()
        await load_setup(client, msp, report)
        await map_orgs_by_truth(client, msp, report, concurrency=8)
        load = UsageLoad(client, usage_bodies(islice(msp.records(), n)))
        cpu_before = cpu() if cpu else 0.0
        started = time.perf_counter()
        await load.run()
        engine = create_async_engine(stack.database_url)
        try:
            while True:  # the unit table is in another process: poll it
                if await _units(engine) >= n:
                    break
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()
        seconds = time.perf_counter() - started
        cpu_seconds = cpu() - cpu_before if cpu else 0.0
    ms = sorted(x * 1000 for x in load.latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return Throughput(n, seconds, statistics.median(ms), p99, cpu_seconds)
