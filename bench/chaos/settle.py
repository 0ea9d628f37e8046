"""When the pipeline has caught up: no outbox holds an event, mapping has no re-resolution
waiting, every consumer group has committed the end of what it reads, and the unit table
stopped changing."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

BACKLOG = """
SELECT (SELECT count(*) FROM ingest.outbox) + (SELECT count(*) FROM mapping.outbox)
     + (SELECT count(*) FROM invoicing.outbox) + (SELECT count(*) FROM gateway.outbox)
     + (SELECT count(*) FROM mapping.pending_resolutions)
     + (SELECT count(*) FROM mapping.pending_metric_resolutions)
"""
UNITS = "SELECT count(*), sum(version), sum(quantity) FROM invoicing.units"
STABLE_POLLS = 3
POLL_SECONDS = 1.0


async def _lag(kafka: str, prefix: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        committed: dict[TopicPartition, int] = {}
        lag = 0
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            committed = {tp: meta.offset for tp, meta in offsets.items()}
            if committed:
                ends = await consumer.end_offsets(list(committed))
                lag += sum(max(0, ends[tp] - at) for tp, at in committed.items())
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def settled(dsn: str, kafka: str, prefix: str, limit: float = 600.0) -> float:
    """Waits until caught up; answers the seconds it took."""
    started = time.monotonic()
    last: tuple[object, ...] | None = None
    stable = 0
    while stable < STABLE_POLLS:
        if time.monotonic() - started > limit:
            raise TimeoutError(f"the pipeline did not settle in {limit}s")
        await asyncio.sleep(POLL_SECONDS)
        conn = await asyncpg.connect(dsn)
        try:
            backlog = await conn.fetchval(BACKLOG)
            units = tuple(await conn.fetchrow(UNITS))
        finally:
            await conn.close()
        lag = await _lag(kafka, prefix)
        quiet = backlog == 0 and lag == 0 and units == last
        stable = stable + 1 if quiet else 0
        last = units
    return time.monotonic() - started
