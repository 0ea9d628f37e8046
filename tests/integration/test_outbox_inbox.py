"""Outbox relay and inbox consumer on real PostgreSQL and Kafka.

The database is migrated with Alembic; the tests use ingest's outbox and inbox tables and a
table of their own (schema ``it``) for the effects of a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.ingest import models as ingest
from shared.bus import Bus, Handler, Headers, Message
from shared.bus.kafka import KafkaBus
from shared.consumer import EventConsumer
from shared.db import create_engine, session_factory
from shared.events import (
    DEAD_LETTER,
    CompanyChanged,
    CompanyData,
    DeadLetter,
    Envelope,
    Event,
    MappingChanged,
    UsageRecord,
    UsageRecorded,
    all_topics,
    topic_for,
)
from shared.migrations import migrate_all
from shared.outbox import Outbox, OutboxRelay

pytestmark = pytest.mark.integration

WAIT = 30.0
SETTLE = 1.0
TENANT = "11111111-1111-1111-1111-111111111111"
OTHER_TENANT = "22222222-2222-2222-2222-222222222222"

effects = Table(
    "effects",
    MetaData(schema="it"),
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("org_id", String(200), nullable=False),
)


class RelayCrash(Exception):
    """The relay died after the bus accepted its messages, before it deleted its rows."""


class CrashAfterPublish:
    """A bus that publishes for real, then crashes the relay before its rows are deleted."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self.published = 0

    async def start(self) -> None:
        await self._bus.start()

    async def stop(self) -> None:
        await self._bus.stop()

    async def ping(self) -> bool:
        return await self._bus.ping()

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: Sequence[Headers] = (),
    ) -> None:
        await self._bus.publish(topic, messages, headers)
        self.published += len(messages)
        raise RelayCrash

    async def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> None:
        await self._bus.consume(group, topics, handler, batch_size)


class ObservedBus:
    """Delegates to a bus and records the messages whose handler returned (and committed)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self.handled: list[Message] = []

    async def start(self) -> None:
        await self._bus.start()

    async def stop(self) -> None:
        await self._bus.stop()

    async def ping(self) -> bool:
        return await self._bus.ping()

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: Sequence[Headers] = (),
    ) -> None:
        await self._bus.publish(topic, messages, headers)

    async def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> None:
        async def observed(batch: Sequence[Message]) -> None:
            await handler(batch)
            self.handled.extend(batch)

        await self._bus.consume(group, topics, observed, batch_size)


class Background:
    """Consumer tasks of one test: bounded waits that fail fast when a task died."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.create_task(coro))

    async def until(self, what: str, predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not predicate():
            for task in self.tasks:
                if task.done():
                    await task
                    pytest.fail(f"a consumer stopped while waiting for {what}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {WAIT}s waiting for {what}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, WAIT)


class Reader:
    """A raw consumer in a group of its own."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, batch: Sequence[Message]) -> None:
        self.messages.extend(batch)


@pytest.fixture(scope="module")
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate_all, fresh_database_url)
    engine = create_engine(fresh_database_url, ingest.SCHEMA, pool_size=5)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA it"))
        await conn.run_sync(effects.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE ingest.outbox, ingest.inbox, it.effects"))
    return session_factory(engine)


@pytest.fixture(scope="module")
async def kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(kafka_bootstrap, retry_seconds=0.1)
    try:
        await asyncio.wait_for(bus.start(), WAIT)
    except Exception as exc:
        pytest.fail(f"Kafka at {kafka_bootstrap} unreachable: {exc!r}")
    yield bus
    await bus.stop()


@pytest.fixture
async def prefix(kafka: KafkaBus, kafka_bootstrap: str) -> AsyncIterator[str]:
    """Topics of this test alone, ``it<hex>.<event type>``, deleted afterwards."""
    value = f"it{uuid.uuid4().hex[:12]}."
    topics = all_topics(value)
    await asyncio.wait_for(kafka.ensure_topics(topics), WAIT)
    yield value
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await asyncio.wait_for(admin.start(), WAIT)
    try:
        await asyncio.wait_for(admin.delete_topics(topics), WAIT)
    finally:
        await admin.close()


@pytest.fixture
async def background() -> AsyncIterator[Background]:
    tasks = Background()
    yield tasks
    await tasks.close()


def usage(org_id: str, quantity: str = "1") -> UsageRecorded:
    record = UsageRecord(
        module="datto_azure_backup",
        org_id=org_id,
        org_name=f"Org {org_id}",
        metric="storage_tb",
        date=date(2026, 1, 31),
        quantity=Decimal(quantity),
        revision=1,
    )
    return UsageRecorded(records=(record,))


async def record_effect(session: AsyncSession, tenant_id: str, event: Event) -> None:
    assert isinstance(event, UsageRecorded)
    for r in event.records:
        if r.org_id.startswith("poison"):
            raise ValueError(f"cannot bill {r.org_id}")
        await session.execute(insert(effects).values(tenant_id=tenant_id, org_id=r.org_id))


async def outbox_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    t = ingest.outbox
    async with sessions() as session:
        rows = await session.execute(select(t.c.topic, t.c.key, t.c.payload).order_by(t.c.id))
        return [(r.topic, r.key, r.payload) for r in rows]


async def effect_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    async with sessions() as session:
        rows = await session.execute(
            select(effects.c.tenant_id, effects.c.org_id, func.count()).group_by(
                effects.c.tenant_id, effects.c.org_id
            )
        )
        return {(r[0], r[1]): r[2] for r in rows}


async def inbox_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(ingest.inbox.c.event_id)))


def event_consumer(
    bus: Bus, sessions: async_sessionmaker[AsyncSession], prefix: str, batch_size: int
) -> EventConsumer:
    return EventConsumer(
        group=f"{prefix}test-consumer",
        bus=bus,
        sessions=sessions,
        inbox=ingest.inbox,
        handlers={UsageRecorded: record_effect},
        topic_prefix=prefix,
        batch_size=batch_size,
    )


async def read_all(
    bus: Bus, background: Background, group: str, topics: Sequence[str], count: int
) -> list[Message]:
    """Exactly ``count`` messages from ``topics`` (fails on fewer, or more within SETTLE)."""
    reader = Reader()
    background.start(bus.consume(group, topics, reader))
    await background.until(f"{count} messages on {topics}", lambda: len(reader.messages) >= count)
    await asyncio.sleep(SETTLE)
    assert len(reader.messages) == count
    return reader.messages


async def test_relay_publishes_committed_events_exactly(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaBus,
    prefix: str,
    background: Background,
) -> None:
    outbox = Outbox(ingest.outbox, prefix)
    company = CompanyData(id="c-1", name="Acme", tax_rate=Decimal("0.190000"), currency="EUR")
    async with sessions() as session, session.begin():
        await outbox.add(session, TENANT, usage("org-1", "1.5"), usage("org-2", "0.0001"))
        await outbox.add(session, OTHER_TENANT, CompanyChanged(company=company))
    async with sessions() as session, session.begin():
        await outbox.add(
            session, TENANT, MappingChanged(kind="org", module="dark_web_id", org_id="org-1")
        )
        await outbox.add(session, TENANT, usage("org-3", "12345678901.2345"))
    committed = await outbox_rows(sessions)
    assert len(committed) == 5

    relay = OutboxRelay(outbox, sessions, kafka)
    assert await relay.drain_once() == 5
    assert await outbox_rows(sessions) == []
    assert await relay.drain_once() == 0

    topics = sorted({topic for topic, _, _ in committed})
    got = await read_all(kafka, background, f"{prefix}reader", topics, 5)
    # Order holds per topic and key (= tenant), the unit Kafka orders.
    streams = {
        (t, k): [p for t2, k2, p in committed if (t2, k2) == (t, k)] for t, k, _ in committed
    }
    assert {
        key: [m.value.decode() for m in got if (m.topic, (m.key or b"").decode()) == key]
        for key in streams
    } == streams
    sent = [Envelope.model_validate_json(p) for _, _, p in committed]
    assert [e.open() for e in sent] == [
        usage("org-1", "1.5"),
        usage("org-2", "0.0001"),
        CompanyChanged(company=company),
        MappingChanged(kind="org", module="dark_web_id", org_id="org-1"),
        usage("org-3", "12345678901.2345"),
    ]
    assert [e.tenant_id for e in sent] == [TENANT, TENANT, OTHER_TENANT, TENANT, TENANT]
    assert len({e.id for e in sent}) == 5


async def test_rolled_back_transaction_publishes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaBus,
    prefix: str,
    background: Background,
) -> None:
    outbox = Outbox(ingest.outbox, prefix)
    with pytest.raises(RuntimeError, match="business rule failed"):
        async with sessions() as session, session.begin():
            await outbox.add(session, TENANT, usage("rolled-back"))
            raise RuntimeError("business rule failed")
    assert await outbox_rows(sessions) == []

    async with sessions() as session, session.begin():
        await outbox.add(session, TENANT, usage("committed"))
    assert await OutboxRelay(outbox, sessions, kafka).drain_once() == 1

    # Same topic and key as the rolled-back event: it would have come first.
    topic = topic_for(prefix, UsageRecorded.TYPE)
    (message,) = await read_all(kafka, background, f"{prefix}reader", [topic], 1)
    assert Envelope.model_validate_json(message.value).open() == usage("committed")


@pytest.mark.parametrize("batch_size", [1, 500])
async def test_relay_crash_republishes_and_the_inbox_processes_each_event_once(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaBus,
    prefix: str,
    background: Background,
    batch_size: int,
) -> None:
    outbox = Outbox(ingest.outbox, prefix)
    orgs = [f"org-{i}" for i in range(6)]
    async with sessions() as session, session.begin():
        await outbox.add(session, TENANT, *(usage(o) for o in orgs[:4]))
    async with sessions() as session, session.begin():
        await outbox.add(session, OTHER_TENANT, *(usage(o) for o in orgs[4:]))
    committed = await outbox_rows(sessions)

    crashing = CrashAfterPublish(kafka)
    with pytest.raises(RelayCrash):
        await OutboxRelay(outbox, sessions, crashing).drain_once()
    assert crashing.published == 6
    assert await outbox_rows(sessions) == committed  # not deleted: they go out again
    assert await OutboxRelay(outbox, sessions, kafka).drain_once() == 6
    assert await outbox_rows(sessions) == []

    observed = ObservedBus(kafka)
    consumer = event_consumer(observed, sessions, prefix, batch_size)
    background.start(consumer.run())
    await background.until("12 handled messages", lambda: len(observed.handled) >= 12)
    await asyncio.sleep(SETTLE)

    assert len(observed.handled) == 12
    expected = {(TENANT, o): 1 for o in orgs[:4]} | {(OTHER_TENANT, o): 1 for o in orgs[4:]}
    assert await effect_counts(sessions) == expected
    ids = {str(Envelope.model_validate_json(p).id) for _, _, p in committed}
    assert await inbox_ids(sessions) == ids


async def test_undecodable_messages_go_to_the_dead_letter_topic(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaBus,
    prefix: str,
    background: Background,
) -> None:
    topic = topic_for(prefix, UsageRecorded.TYPE)
    good = Envelope.wrap(TENANT, usage("good"))
    newer = good.model_copy(update={"id": uuid.uuid4(), "version": 2})
    unknown = good.model_copy(update={"id": uuid.uuid4(), "type": "usage.teleported"})
    broken = good.model_copy(update={"id": uuid.uuid4(), "data": {"records": "none"}})
    raw = [
        b"{not json",
        newer.model_dump_json().encode(),
        unknown.model_dump_json().encode(),
        broken.model_dump_json().encode(),
        good.model_dump_json().encode(),
    ]
    await kafka.publish(topic, [(TENANT.encode(), v) for v in raw])

    observed = ObservedBus(kafka)
    consumer = event_consumer(observed, sessions, prefix, 500)
    background.start(consumer.run())
    await background.until("5 handled messages", lambda: len(observed.handled) >= 5)
    dead = await read_all(
        kafka, background, f"{prefix}dlq-reader", [topic_for(prefix, DEAD_LETTER)], 4
    )

    letters = sorted(
        (DeadLetter.model_validate_json(m.value) for m in dead), key=lambda x: x.offset
    )
    offsets = {m.value: m.offset for m in observed.handled}
    assert [(x.value.encode(), x.offset) for x in letters] == [(v, offsets[v]) for v in raw[:4]]
    assert {(x.group, x.topic, x.key) for x in letters} == {(consumer.group, topic, TENANT)}
    assert all(x.reason.startswith("undecodable: ") for x in letters)
    assert "Invalid JSON" in letters[0].reason
    assert "no contract for usage.recorded v2" in letters[1].reason
    assert "no contract for usage.teleported v1" in letters[2].reason
    assert "records" in letters[3].reason
    assert {m.key for m in dead} == {TENANT.encode()}
    assert await effect_counts(sessions) == {(TENANT, "good"): 1}
    assert await inbox_ids(sessions) == {str(good.id)}


@pytest.mark.parametrize("batch_size", [1, 500])
async def test_failing_event_is_dead_lettered_and_the_others_processed(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaBus,
    prefix: str,
    background: Background,
    batch_size: int,
) -> None:
    outbox = Outbox(ingest.outbox, prefix)
    async with sessions() as session, session.begin():
        await outbox.add(
            session, TENANT, usage("ok-1"), usage("poison-1"), usage("ok-2"), usage("ok-3")
        )
    (poison_row,) = [p for _, _, p in await outbox_rows(sessions) if "poison-1" in p]
    assert await OutboxRelay(outbox, sessions, kafka).drain_once() == 4

    observed = ObservedBus(kafka)
    consumer = event_consumer(observed, sessions, prefix, batch_size)
    background.start(consumer.run())
    await background.until("4 handled messages", lambda: len(observed.handled) >= 4)
    (letter_message,) = await read_all(
        kafka, background, f"{prefix}dlq-reader", [topic_for(prefix, DEAD_LETTER)], 1
    )

    letter = DeadLetter.model_validate_json(letter_message.value)
    assert letter.reason == "ValueError: cannot bill poison-1"
    assert letter.value == poison_row
    assert (letter.group, letter.topic, letter.key) == (
        consumer.group,
        topic_for(prefix, UsageRecorded.TYPE),
        usage("poison-1").partition_key(TENANT),  # usage is keyed by tenant, module and org
    )
    assert len(observed.handled) == 4
    assert await effect_counts(sessions) == {(TENANT, o): 1 for o in ("ok-1", "ok-2", "ok-3")}
    poison_id = str(Envelope.model_validate_json(poison_row).id)
    assert poison_id not in await inbox_ids(sessions)
    assert len(await inbox_ids(sessions)) == 3
