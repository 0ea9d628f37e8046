from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Headers = tuple[tuple[str, bytes], ...]
"""Message headers (the trace context travels in them)."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers = ()


Handler = Callable[[Sequence[Message]], Awaitable[None]]


class Bus(Protocol):
    """At-least-once delivery. ``publish`` returns once every message is durably accepted.

    ``consume`` runs until cancelled: it hands batches to ``handler`` and commits their offsets
    only after the handler returned. A handler that raises gets the same batch again after a
    back-off, so handlers must be idempotent. ``headers``, when given, holds one entry per
    message of ``messages``.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ping(self) -> bool: ...

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: Sequence[Headers] = (),
    ) -> None: ...

    async def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> None: ...
