"""EventConsumer on the in-process bus and a SQLite file: inbox, dead letters, retries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus import InProcessBus, Message
from shared.consumer import EventConsumer
from shared.db import create_all, create_engine, session_factory
from shared.events import (
    DEAD_LETTER,
    CompanyChanged,
    CompanyData,
    DeadLetter,
    Envelope,
    Event,
    UsageRecord,
    UsageRecorded,
    topic_for,
)
from shared.inbox import inbox_table

PREFIX = "unit."
TOPIC = topic_for(PREFIX, UsageRecorded.TYPE)
DLQ = topic_for(PREFIX, DEAD_LETTER)
TENANT = "tenant-1"
GROUP = "unit.consumer"
WAIT = 30.0  # upper bound of every wait; a healthy run needs a fraction of it

metadata = MetaData(schema="svc")
inbox = inbox_table(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("org_id", String(200), nullable=False),
)


class Handler:
    """Writes one effect row per record; ``poison-*`` orgs fail, ``db-down`` looks like an
    unavailable database."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}

    async def __call__(self, session: AsyncSession, tenant_id: str, event: Event) -> None:
        assert isinstance(event, UsageRecorded)
        for r in event.records:
            self.attempts[r.org_id] = self.attempts.get(r.org_id, 0) + 1
            if r.org_id.startswith("poison"):
                raise ValueError(f"cannot bill {r.org_id}")
            if r.org_id == "db-down":
                raise OperationalError("INSERT", {}, ConnectionRefusedError("db down"))
            await session.execute(insert(effects).values(tenant_id=tenant_id, org_id=r.org_id))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}", "svc")
    await create_all(engine, metadata)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def bus() -> InProcessBus:
    return InProcessBus(retry_seconds=0.01)


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def commits() -> list[int]:
    return []


@pytest.fixture
def consumer(
    bus: InProcessBus,
    sessions: async_sessionmaker[AsyncSession],
    handler: Handler,
    commits: list[int],
) -> EventConsumer:
    return EventConsumer(
        group=GROUP,
        bus=bus,
        sessions=sessions,
        inbox=inbox,
        handlers={UsageRecorded: handler},
        topic_prefix=PREFIX,
        after_commit=lambda: commits.append(1),
    )


def usage(org_id: str) -> UsageRecorded:
    record = UsageRecord(
        module="dark_web_id",
        org_id=org_id,
        org_name=org_id.title(),
        metric="domains",
        date=date(2026, 1, 31),
        quantity=Decimal("2"),
        revision=1,
    )
    return UsageRecorded(records=(record,))


def messages(*values: bytes) -> list[Message]:
    return [Message(TOPIC, 0, i, TENANT.encode(), v) for i, v in enumerate(values)]


def wrapped(*orgs: str) -> list[Envelope]:
    return [Envelope.wrap(TENANT, usage(o)) for o in orgs]


def encoded(envelopes: Sequence[Envelope]) -> list[bytes]:
    return [e.model_dump_json().encode() for e in envelopes]


async def dead_letters(bus: InProcessBus) -> list[DeadLetter]:
    """Everything on the dead-letter topic so far (an end marker bounds the read)."""
    await bus.publish(DLQ, [(None, b"end")])
    seen: list[Message] = []
    done = asyncio.Event()

    async def read(batch: Sequence[Message]) -> None:
        seen.extend(batch)
        if any(m.value == b"end" for m in batch):
            done.set()

    task = asyncio.create_task(bus.consume(f"dlq-{time.monotonic_ns()}", [DLQ], read))
    try:
        await asyncio.wait_for(done.wait(), WAIT)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return [DeadLetter.model_validate_json(m.value) for m in seen if m.value != b"end"]


async def effect_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(effects.c.org_id, func.count()).group_by(effects.c.org_id)
        )
        return {r[0]: r[1] for r in rows}


async def inbox_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(inbox.c.event_id)))


def test_consumer_subscribes_to_the_topics_of_its_handlers(
    consumer: EventConsumer, sessions: async_sessionmaker[AsyncSession], bus: InProcessBus
) -> None:
    assert consumer.topics == (TOPIC,)

    async def noop(session: AsyncSession, tenant_id: str, event: Event) -> None:
        return None

    two = EventConsumer(
        "g", bus, sessions, inbox, {UsageRecorded: noop, CompanyChanged: noop}, "p."
    )
    assert two.topics == ("p.usage.recorded", "p.company.changed")


async def test_events_are_processed_in_one_transaction_each_once(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
    commits: list[int],
) -> None:
    envelopes = wrapped("a", "b", "c")
    await consumer.handle_batch(messages(*encoded(envelopes)))
    assert await effect_counts(sessions) == {"a": 1, "b": 1, "c": 1}
    assert await inbox_ids(sessions) == {str(e.id) for e in envelopes}
    assert commits == [1]
    assert await dead_letters(bus) == []


async def test_duplicates_in_a_batch_and_across_batches_are_processed_once(
    consumer: EventConsumer, sessions: async_sessionmaker[AsyncSession], handler: Handler
) -> None:
    a, b = wrapped("a", "b")
    await consumer.handle_batch(messages(*encoded([a, a, b, a])))
    await consumer.handle_batch(messages(*encoded([b, a])))
    assert await effect_counts(sessions) == {"a": 1, "b": 1}
    assert handler.attempts == {"a": 1, "b": 1}
    assert await inbox_ids(sessions) == {str(a.id), str(b.id)}


async def test_a_batch_handler_takes_each_run_of_one_type_and_tenant_in_one_call(
    bus: InProcessBus, sessions: async_sessionmaker[AsyncSession]
) -> None:
    calls: list[tuple[str, list[str]]] = []

    async def stored(session: AsyncSession, tenant_id: str, events: Sequence[Event]) -> None:
        orgs = [r.org_id for e in events if isinstance(e, UsageRecorded) for r in e.records]
        calls.append((tenant_id, orgs))

    batched = EventConsumer(
        GROUP, bus, sessions, inbox, {}, PREFIX, batch_handlers={UsageRecorded: stored}
    )
    assert batched.topics == (TOPIC,)
    a, b, c = wrapped("a", "b", "c")
    other = Envelope.wrap("tenant-2", usage("x"))
    await batched.handle_batch(messages(*encoded([a, b, a, other, c])))
    await batched.handle_batch(messages(*encoded([c, b])))
    assert calls == [(TENANT, ["a", "b"]), ("tenant-2", ["x"]), (TENANT, ["c"])]


async def test_the_same_event_from_another_tenant_is_still_the_same_event_id(
    consumer: EventConsumer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = wrapped("a")
    again = a.model_copy(update={"tenant_id": "tenant-2"})
    await consumer.handle_batch(messages(*encoded([a, again])))
    assert await effect_counts(sessions) == {"a": 1}


async def test_undecodable_messages_are_dead_lettered_with_the_reason(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
    commits: list[int],
) -> None:
    (good,) = wrapped("good")
    newer = good.model_copy(update={"version": 9})
    unknown = good.model_copy(update={"type": "usage.teleported"})
    missing = good.model_copy(update={"data": {}})
    raw = [b"\xff\xfe not json", *encoded([newer, unknown, missing]), *encoded([good])]
    batch = messages(*raw)
    await consumer.handle_batch(batch)

    letters = await dead_letters(bus)
    assert [(x.group, x.topic, x.partition, x.offset, x.key) for x in letters] == [
        (GROUP, TOPIC, 0, i, TENANT) for i in range(4)
    ]
    assert letters[0].value == raw[0].decode(errors="replace")
    assert [x.value.encode() for x in letters[1:]] == raw[1:4]
    assert all(x.reason.startswith("undecodable: ") for x in letters)
    assert "Invalid JSON" in letters[0].reason
    assert letters[1].reason == "undecodable: no contract for usage.recorded v9"
    assert letters[2].reason == "undecodable: no contract for usage.teleported v1"
    assert "records" in letters[3].reason and "Field required" in letters[3].reason
    assert await effect_counts(sessions) == {"good": 1}
    assert commits == [1]


async def test_only_undecodable_messages_commit_nothing(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
    commits: list[int],
) -> None:
    await consumer.handle_batch(messages(b"{", b"[]"))
    assert [x.offset for x in await dead_letters(bus)] == [0, 1]
    assert await inbox_ids(sessions) == set()
    assert commits == []


async def test_long_reasons_are_truncated(consumer: EventConsumer, bus: InProcessBus) -> None:
    await consumer.handle_batch(messages(*encoded(wrapped("ok", "poison-" + "x" * 3000))))
    (letter,) = await dead_letters(bus)
    assert letter.reason == f"ValueError: cannot bill poison-{'x' * 3000}"[:2000]


@pytest.mark.parametrize(
    ("orgs", "batches"),
    [
        (["ok-1", "poison-1", "ok-2"], 1),  # the poison event shares a batch
        (["poison-1"], 1),  # the poison event is alone in its batch
        (["ok-1", "poison-1", "ok-2"], 3),  # one event per batch
    ],
)
async def test_failing_event_is_dead_lettered_and_the_others_processed(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
    handler: Handler,
    orgs: list[str],
    batches: int,
) -> None:
    envelopes = wrapped(*orgs)
    batch = messages(*encoded(envelopes))
    size = len(batch) // batches
    for i in range(0, len(batch), size):
        await consumer.handle_batch(batch[i : i + size])

    (letter,) = await dead_letters(bus)
    poison = envelopes[orgs.index("poison-1")]
    assert letter.reason == "ValueError: cannot bill poison-1"
    assert letter.value == poison.model_dump_json()
    assert (letter.group, letter.topic, letter.key) == (GROUP, TOPIC, TENANT)
    assert handler.attempts["poison-1"] == 2  # once with its batch, once alone
    ok = [o for o in orgs if o != "poison-1"]
    assert await effect_counts(sessions) == dict.fromkeys(ok, 1)
    assert await inbox_ids(sessions) == {str(e.id) for e in envelopes if e is not poison}


@pytest.mark.parametrize("orgs", [["db-down"], ["ok-1", "db-down"]])
async def test_unavailable_database_is_raised_for_redelivery_not_dead_lettered(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
    orgs: list[str],
    commits: list[int],
) -> None:
    with pytest.raises(OperationalError):
        await consumer.handle_batch(messages(*encoded(wrapped(*orgs))))
    assert await dead_letters(bus) == []
    assert await effect_counts(sessions) == {}
    assert await inbox_ids(sessions) == set()
    assert commits == []


async def test_unhandled_event_type_on_the_topic_is_dead_lettered(
    consumer: EventConsumer, sessions: async_sessionmaker[AsyncSession], bus: InProcessBus
) -> None:
    company = CompanyChanged(company=CompanyData(id="c", name="C", tax_rate=Decimal("0")))
    stray = Envelope.wrap(TENANT, company)
    (ok,) = wrapped("ok")
    await consumer.handle_batch(messages(*encoded([stray, ok])))
    (letter,) = await dead_letters(bus)
    assert letter.value == stray.model_dump_json()
    assert letter.reason.startswith("KeyError: ")
    assert await effect_counts(sessions) == {"ok": 1}


async def test_run_consumes_commits_and_survives_poison(
    consumer: EventConsumer,
    sessions: async_sessionmaker[AsyncSession],
    bus: InProcessBus,
) -> None:
    envelopes = wrapped("a", "poison-1", "b")
    await bus.publish(TOPIC, [(TENANT.encode(), v) for v in [b"{", *encoded(envelopes)]])
    await bus.publish(TOPIC, [(TENANT.encode(), v) for v in encoded(envelopes[:1])])  # again
    task = asyncio.create_task(consumer.run())
    try:
        deadline = time.monotonic() + WAIT
        while bus.committed(GROUP, TOPIC) < 5:
            assert not task.done(), task
            assert time.monotonic() < deadline, "the consumer did not catch up"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert bus.committed(GROUP, TOPIC) == 5
    assert await effect_counts(sessions) == {"a": 1, "b": 1}
    assert sorted(x.reason.split(":")[0] for x in await dead_letters(bus)) == [
        "ValueError",
        "undecodable",
    ]
