"""Event consumption: envelope -> handler -> one DB transaction -> offset commit.

Undecodable messages and events whose handler keeps failing for a reason other than an
unavailable database go to the dead-letter topic with the reason, so one poison message
never stalls a partition.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus import Bus, Message
from shared.events import (
    DEAD_LETTER,
    DeadLetter,
    EnvelopeHead,
    Event,
    UnknownEvent,
    decode,
    topic_for,
)
from shared.inbox import claim
from shared.observability import metrics, tracing
from shared.observability.context import tenant_id_var

log = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, str, Event], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, str, Sequence[Event]], Awaitable[None]]
"""Takes a run of events of one type and tenant at once: for events that carry records
(usage), one call stores a whole batch in a few statements instead of a few per event."""


@dataclass
class EventConsumer:
    group: str
    bus: Bus
    sessions: async_sessionmaker[AsyncSession]
    inbox: Table
    handlers: dict[type[Event], EventHandler]
    topic_prefix: str
    after_commit: Callable[[], None] = lambda: None
    batch_size: int = 500
    batch_handlers: dict[type[Event], BatchHandler] = field(default_factory=dict)
    _topics: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        types = [*self.handlers, *self.batch_handlers]
        self._topics = tuple(topic_for(self.topic_prefix, t.TYPE) for t in types)

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    async def run(self) -> None:
        await self.bus.consume(self.group, self._topics, self.handle_batch, self.batch_size)

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        for topic in {m.topic for m in messages}:
            metrics.EVENTS_CONSUMED.labels(self.group, topic).inc(
                sum(1 for m in messages if m.topic == topic)
            )
        with tracing.consuming(
            self.group, [m.topic for m in messages], [m.headers for m in messages]
        ):
            await self._handle_batch(messages)

    async def _handle_batch(self, messages: Sequence[Message]) -> None:
        decoded: list[tuple[Message, EnvelopeHead, Event]] = []
        for message in messages:
            try:
                envelope, event = decode(message.value)
                decoded.append((message, envelope, event))
            except (ValidationError, UnknownEvent) as exc:
                await self._dead_letter(message, f"undecodable: {exc}")
        if not decoded:
            return
        try:
            await self._process(decoded)
        except (OperationalError, DBAPIError, OSError):
            raise
        except Exception:
            # Retried alone even when it was alone: re-raising would redeliver a poison
            # event forever and stall its partition.
            log.exception("batch failed in %s; retrying event by event", self.group)
            for item in decoded:
                try:
                    await self._process([item])
                except (OperationalError, DBAPIError, OSError):
                    raise
                except Exception as exc:
                    log.exception("event %s failed in %s", item[1].id, self.group)
                    await self._dead_letter(item[0], f"{type(exc).__name__}: {exc}")
        self.after_commit()

    async def _process(self, items: Sequence[tuple[Message, EnvelopeHead, Event]]) -> None:
        async with self.sessions() as session, session.begin():
            fresh = await claim(session, self.inbox, [env.id for _, env, _ in items])
            firsts: list[tuple[EnvelopeHead, Event]] = []
            for _, envelope, event in items:
                event_id = str(envelope.id)
                if event_id not in fresh:
                    metrics.INBOX_DUPLICATES.labels(self.group).inc()
                    continue
                fresh.discard(event_id)
                firsts.append((envelope, event))
            runs = itertools.groupby(firsts, key=lambda item: (type(item[1]), item[0].tenant_id))
            for (kind, tenant_id), run in runs:
                tenant_id_var.set(tenant_id)
                events = [event for _, event in run]
                if kind in self.batch_handlers:
                    await self.batch_handlers[kind](session, tenant_id, events)
                    continue
                for event in events:
                    await self.handlers[kind](session, tenant_id, event)

    async def _dead_letter(self, message: Message, reason: str) -> None:
        letter = DeadLetter(
            group=self.group,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key.decode(errors="replace") if message.key else None,
            value=message.value.decode(errors="replace"),
            reason=reason[:2000],
        )
        log.error(
            "dead-lettered %s@%s from %s: %s", message.topic, message.offset, self.group, reason
        )
        metrics.DEAD_LETTERS.labels(self.group, message.topic).inc()
        await self.bus.publish(
            topic_for(self.topic_prefix, DEAD_LETTER),
            [(message.key, letter.model_dump_json().encode())],
        )
