"""In-process bus for the embedded mode and unit tests: one partition per topic, in memory.

Its log lives only in memory, so it cannot accept a message durably the way Kafka does.
Instead, once consumer groups are subscribed (``subscribe``, before anything is published),
``publish`` returns only when every group subscribed to the topic has handled and committed
the messages: the outbox relay deletes its rows only then, so until a message's effect is in
the consumers' databases its row is still in the producer's outbox. A crash (even kill -9)
loses nothing handed over: on restart the relay publishes the remaining rows again and the
consumers' inboxes drop what they had already handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from shared.bus.base import Handler, Headers, Message
from shared.observability.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


class InProcessBus:
    # The outbox relay must not hold its transaction open while ``publish`` waits for the
    # consumers (they may write to the same database): see ``shared.outbox.OutboxRelay``.
    acknowledges_after_consumption = True

    def __init__(self, retry_seconds: float = 0.5) -> None:
        self._logs: dict[str, list[Message]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._subscribers: dict[str, set[str]] = defaultdict(set)
        self._changed = asyncio.Condition()
        self._retry_seconds = retry_seconds

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    def subscribe(self, group: str, topics: Sequence[str]) -> None:
        """``publish`` to these topics waits for this group from now on."""
        for topic in topics:
            self._subscribers[topic].add(group)

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: Sequence[Headers] = (),
    ) -> None:
        log_ = self._logs[topic]
        for i, (key, value) in enumerate(messages):
            log_.append(Message(topic, 0, len(log_), key, value, headers[i] if headers else ()))
        end = len(log_)
        groups = tuple(self._subscribers[topic])
        async with self._changed:
            self._changed.notify_all()
            await self._changed.wait_for(
                lambda: all(self._committed[(g, topic)] >= end for g in groups)
            )

    def published(self) -> list[Message]:
        """Every message of every topic so far, topic by topic (what tests check)."""
        return [m for messages in self._logs.values() for m in messages]

    def published_count(self) -> int:
        """How many messages were published to any topic so far."""
        return sum(len(log_) for log_ in self._logs.values())

    def committed(self, group: str, topic: str) -> int:
        return self._committed[(group, topic)]

    def caught_up(self, group: str, topics: Sequence[str]) -> bool:
        return all(self._committed[(group, t)] >= len(self._logs[t]) for t in topics)

    def _pending(self, group: str, topics: Sequence[str], limit: int) -> list[Message]:
        batch: list[Message] = []
        for topic in topics:
            start = self._committed[(group, topic)]
            batch.extend(self._logs[topic][start : start + limit - len(batch)])
            if len(batch) >= limit:
                break
        return batch

    async def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._pending(group, topics, 1)))
            batch = self._pending(group, topics, batch_size)
            try:
                await handler(batch)
            except Exception:
                log.exception("handler failed in group %s; the batch will be redelivered", group)
                self._record_lag(group, batch)
                await asyncio.sleep(self._retry_seconds)
                continue
            for message in batch:
                key = (group, message.topic)
                self._committed[key] = max(self._committed[key], message.offset + 1)
            self._record_lag(group, batch)
            async with self._changed:
                self._changed.notify_all()

    def _record_lag(self, group: str, batch: Sequence[Message]) -> None:
        for topic in {m.topic for m in batch}:
            lag = len(self._logs[topic]) - self._committed[(group, topic)]
            CONSUMER_LAG.labels(group, topic, "0").set(lag)
