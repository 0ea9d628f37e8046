"""Apache Kafka through aiokafka: idempotent producer with acks=all, manual offset commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.bus.base import Handler, Headers, Message
from shared.observability.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


class KafkaBus:
    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str] = (),
        partitions: int = 4,
        retry_seconds: float = 1.0,
        replication_factor: int = 1,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._topics = tuple(topics)
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._retry_seconds = retry_seconds
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        await self.ensure_topics(self._topics)
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=1024 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        if not topics:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(
                    name=t,
                    num_partitions=self._partitions,
                    replication_factor=self._replication_factor,
                )
                for t in topics
                if t not in existing
            ]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()

    async def ping(self) -> bool:
        if self._producer is None:
            return False
        try:
            async with asyncio.timeout(5):
                await self._producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError, OSError):
            return False
        return True

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: Sequence[Headers] = (),
    ) -> None:
        if self._producer is None:
            raise RuntimeError("bus not started")
        futures = [
            await self._producer.send(
                topic, value, key=key, headers=list(headers[i]) if headers and headers[i] else None
            )
            for i, (key, value) in enumerate(messages)
        ]
        await asyncio.gather(*futures)

    async def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> None:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self._bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=16 * 1024 * 1024,
        )
        await consumer.start()
        positions: dict[TopicPartition, int] = {}
        try:
            while True:
                records = await consumer.getmany(timeout_ms=1000, max_records=batch_size)
                batch = [
                    Message(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
                    for tp_records in records.values()
                    for r in tp_records
                ]
                if not batch:
                    _record_lag(consumer, group, positions)
                    continue
                try:
                    await handler(batch)
                except Exception:
                    log.exception(
                        "handler failed in group %s; the batch will be redelivered", group
                    )
                    for tp, tp_records in records.items():
                        consumer.seek(tp, tp_records[0].offset)
                        # A stuck partition shows as lag that grows (the alert's signal).
                        positions.setdefault(tp, tp_records[0].offset)
                    _record_lag(consumer, group, positions)
                    await asyncio.sleep(self._retry_seconds)
                    continue
                done = {
                    TopicPartition(tp.topic, tp.partition): recs[-1].offset + 1
                    for tp, recs in records.items()
                }
                await consumer.commit(done)
                positions.update(done)
                _record_lag(consumer, group, positions)
        finally:
            await consumer.stop()


def _record_lag(
    consumer: AIOKafkaConsumer, group: str, positions: dict[TopicPartition, int]
) -> None:
    """The gap between each partition's end and the next offset this group will process,
    for the partitions it has processed from (the others show once they have traffic)."""
    assigned = consumer.assignment()
    for tp, position in list(positions.items()):
        if tp not in assigned:  # handed to another replica in a rebalance
            del positions[tp]
            continue
        end = consumer.highwater(tp)
        if end is not None:
            CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(end - position, 0))
