"""In-process bus for the embedded mode and unit tests: one partition per topic, in memory."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from shared.bus.base import Handler, Message

log = logging.getLogger(__name__)


class InProcessBus:
    def __init__(self, retry_seconds: float = 0.5) -> None:
        self._logs: dict[str, list[Message]] = defaultdict(list)
        self._committed: dict[tuple[str, str], int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._retry_seconds = retry_seconds

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def publish(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
        log_ = self._logs[topic]
        for key, value in messages:
            log_.append(Message(topic, 0, len(log_), key, value))
        async with self._changed:
            self._changed.notify_all()

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
                await asyncio.sleep(self._retry_seconds)
                continue
            for message in batch:
                key = (group, message.topic)
                self._committed[key] = max(self._committed[key], message.offset + 1)
