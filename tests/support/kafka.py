"""Kafka at the byte level: read what the outbox published, deliver it again, and see when
a consumer group has processed it."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.polling import Pending, wait_for
from tests.support.stack import Stack

READ_SECONDS = 30.0


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"no topic {topic}: {described}"
    return [
        TopicPartition(topic, p["partition"])
        for p in sorted(described["partitions"], key=lambda p: p["partition"])
    ]


async def _first_of_tenant(
    bootstrap: str, topic: str, tenant_id: str
) -> ConsumerRecord[bytes, bytes]:
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        while True:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if json.loads(record.value)["tenant_id"] == tenant_id:
                        return record
            positions = [await consumer.position(tp) for tp in partitions]
            if all(pos >= end[tp] for pos, tp in zip(positions, partitions, strict=True)):
                raise AssertionError(f"no event of tenant {tenant_id} on {topic}")
    finally:
        await consumer.stop()


async def redeliver_first(stack: Stack, tenant_id: str, event_type: str) -> tuple[int, int]:
    """Publishes the tenant's first ``event_type`` envelope again, byte for byte, on its
    partition; answers (partition, offset) of the copy."""
    topic = f"{stack.topic_prefix}{event_type}"
    record = await asyncio.wait_for(_first_of_tenant(stack.kafka, topic, tenant_id), READ_SECONDS)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        meta = await producer.send_and_wait(
            topic, record.value, key=record.key, partition=record.partition
        )
    finally:
        await producer.stop()
    return meta.partition, meta.offset


async def wait_consumed(stack: Stack, group: str, topic: str, partition: int, offset: int) -> None:
    """Waits until the service's consumer group committed past ``offset``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    await admin.start()
    tp = TopicPartition(topic, partition)
    try:

        async def committed() -> bool | Pending:
            offsets = await admin.list_consumer_group_offsets(f"{stack.topic_prefix}{group}")
            at = offsets[tp].offset if tp in offsets else -1
            return at > offset or Pending(f"committed {at}, need > {offset}")

        await wait_for(committed, 60, f"{group} to consume {topic}[{partition}]@{offset}")
    finally:
        await admin.close()
