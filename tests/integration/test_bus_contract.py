"""The bus contract (shared/bus/base.py), run against both implementations.

The in-process bus stands in for Kafka in the embedded mode and the unit tests, so it must
behave the same wherever the services depend on it: acceptance before ``publish`` returns,
order per key, offsets committed only after the handler returned, redelivery of a failed
batch, independent groups, bounded batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import MessageSizeTooLargeError
from prometheus_client import REGISTRY

from shared.bus import Bus, Handler, InProcessBus, Message
from shared.bus.kafka import KafkaBus

pytestmark = pytest.mark.integration

WAIT = 30.0  # upper bound of every wait; a healthy run needs a fraction of it
SETTLE = 1.0  # how long to watch for messages that must not come
RETRY = 0.05  # back-off of the buses after a failed handler
IMPLEMENTATIONS = ("memory", "kafka")


class Collector:
    """A handler that keeps every batch it was given, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Message]] = []

    async def __call__(self, batch: Sequence[Message]) -> None:
        self.batches.append(list(batch))

    @property
    def messages(self) -> list[Message]:
        return [m for b in self.batches for m in b]

    @property
    def values(self) -> list[bytes]:
        return [m.value for m in self.messages]


@dataclass
class Harness:
    kind: str
    bus: Bus
    bootstrap: str
    prefix: str = field(default_factory=lambda: f"it-bus-{uuid.uuid4().hex[:12]}")
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    started: bool = False

    def name(self, what: str) -> str:
        return f"{self.prefix}.{what}"

    async def start(self) -> None:
        if self.started:
            return
        try:
            await asyncio.wait_for(self.bus.start(), WAIT)
        except Exception as exc:  # the Kafka variant must fail, never skip, without a broker
            pytest.fail(
                f"{self.kind} bus did not start (is Kafka up at {self.bootstrap}?): {exc!r}"
            )
        self.started = True

    async def topic(self, what: str = "events") -> str:
        """A topic of this test alone; starts the bus first."""
        await self.start()
        name = self.name(what)
        if isinstance(self.bus, KafkaBus):
            await asyncio.wait_for(self.bus.ensure_topics([name]), WAIT)
        self.topics.append(name)
        return name

    def consume(
        self, group: str, topics: Sequence[str], handler: Handler, batch_size: int = 500
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self.bus.consume(group, topics, handler, batch_size))
        self.tasks.append(task)
        return task

    async def cancel(self, task: asyncio.Task[None]) -> None:
        self.tasks.remove(task)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT)

    async def until(self, what: str, predicate: Callable[[], bool]) -> None:
        """Waits (bounded) for ``predicate``; a consumer that crashed fails the test at once."""
        deadline = time.monotonic() + WAIT
        while not predicate():
            for task in self.tasks:
                if task.done():
                    await task  # raises what killed the consumer
                    pytest.fail(f"a consumer stopped while waiting for {what}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {WAIT}s waiting for {what}")
            await asyncio.sleep(0.02)

    async def settle(self) -> None:
        await asyncio.sleep(SETTLE)

    async def accepted(self, topic: str) -> int:
        """How many messages the bus holds for ``topic`` right now."""
        if isinstance(self.bus, KafkaBus):
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
            await asyncio.wait_for(admin.start(), WAIT)
            await asyncio.wait_for(probe.start(), WAIT)
            try:
                (described,) = await asyncio.wait_for(admin.describe_topics([topic]), WAIT)
                tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
                ends = await asyncio.wait_for(probe.end_offsets(tps), WAIT)
            finally:
                await probe.stop()
                await admin.close()
            assert len(ends) == len(tps) > 0
            return sum(ends.values())
        first = Collector()
        task = self.consume(self.name(f"probe-{uuid.uuid4().hex[:6]}"), [topic], first, 100_000)
        await self.until("the probe's first batch", lambda: bool(first.batches))
        await self.cancel(task)
        return len(first.batches[0])

    async def close(self) -> None:
        for task in list(self.tasks):
            await self.cancel(task)
        if not self.started:
            return
        await self.bus.stop()
        if isinstance(self.bus, KafkaBus) and self.topics:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await asyncio.wait_for(admin.start(), WAIT)
            try:
                await asyncio.wait_for(admin.delete_topics(self.topics), WAIT)
            finally:
                await admin.close()


def new_bus(kind: str, bootstrap: str) -> Bus:
    if kind == "memory":
        return InProcessBus(retry_seconds=RETRY)
    return KafkaBus(bootstrap, retry_seconds=RETRY)


@contextlib.asynccontextmanager
async def open_bus(kind: str, bootstrap: str) -> AsyncIterator[Harness]:
    harness = Harness(kind, new_bus(kind, bootstrap), bootstrap)
    try:
        await harness.start()
        yield harness
    finally:
        await harness.close()


@pytest.fixture(params=IMPLEMENTATIONS)
async def h(request: pytest.FixtureRequest, kafka_bootstrap: str) -> AsyncIterator[Harness]:
    """Not started yet: the bus starts in the test body (``topic``), so a missing broker
    fails the test instead of erroring its setup."""
    harness = Harness(request.param, new_bus(request.param, kafka_bootstrap), kafka_bootstrap)
    try:
        yield harness
    finally:
        await harness.close()


def numbered(
    count: int, key: bytes | None = b"k", start: int = 0
) -> list[tuple[bytes | None, bytes]]:
    return [(key, f"m{i:04d}".encode()) for i in range(start, start + count)]


def blocking(seen: list[Message], entered: asyncio.Event) -> Handler:
    """A handler that takes a batch and never returns (until cancelled)."""

    async def handler(batch: Sequence[Message]) -> None:
        seen.extend(batch)
        entered.set()
        await asyncio.Event().wait()

    return handler


async def bounded(awaitable: Awaitable[object], what: str) -> None:
    try:
        await asyncio.wait_for(awaitable, WAIT)
    except TimeoutError:
        pytest.fail(f"timed out after {WAIT}s waiting for {what}")


async def test_kafka_broker_is_reachable(kafka_bootstrap: str) -> None:
    async with open_bus("kafka", kafka_bootstrap) as harness:
        assert await harness.bus.ping() is True


async def test_publish_returns_after_acceptance(h: Harness) -> None:
    topic = await h.topic()
    messages = numbered(20)
    await h.bus.publish(topic, messages)

    assert await h.accepted(topic) == 20
    reader = Collector()
    h.consume(h.name("reader"), [topic], reader)
    await h.until("20 messages", lambda: len(reader.messages) >= 20)
    await h.settle()
    assert [(m.key, m.value) for m in reader.messages] == messages
    assert {m.topic for m in reader.messages} == {topic}


async def test_kafka_publish_raises_when_the_broker_refuses(kafka_bootstrap: str) -> None:
    """Acceptance, not hand-over: a message the broker refuses must fail ``publish``."""
    async with open_bus("kafka", kafka_bootstrap) as harness:
        topic = harness.name("small")
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await asyncio.wait_for(admin.start(), WAIT)
        try:
            small = NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "1024"})
            await asyncio.wait_for(admin.create_topics([small]), WAIT)
        finally:
            await admin.close()
        harness.topics.append(topic)
        with pytest.raises(MessageSizeTooLargeError):
            await asyncio.wait_for(harness.bus.publish(topic, [(b"k", b"x" * 20_000)]), WAIT)
        await harness.bus.publish(topic, [(b"k", b"fits")])
        assert await harness.accepted(topic) == 1


async def test_consume_delivers_in_order_per_key(h: Harness) -> None:
    topic = await h.topic()
    keys = [b"alpha", b"bravo", b"charlie", b"delta"]
    expected: dict[bytes, list[bytes]] = {k: [] for k in keys}
    for round_ in range(3):  # several publish calls, keys interleaved within each
        batch: list[tuple[bytes | None, bytes]] = []
        for i in range(10):
            for k in keys:
                value = f"{k.decode()}-{round_}-{i}".encode()
                batch.append((k, value))
                expected[k].append(value)
        await h.bus.publish(topic, batch)

    reader = Collector()
    h.consume(h.name("reader"), [topic], reader, batch_size=7)
    await h.until("120 messages", lambda: len(reader.messages) >= 120)
    await h.settle()

    got: dict[bytes, list[bytes]] = {k: [] for k in keys}
    for m in reader.messages:
        assert m.key is not None
        got[m.key].append(m.value)
    assert got == expected
    for k in keys:  # one key lives in one partition, at growing offsets
        mine = [m for m in reader.messages if m.key == k]
        assert len({m.partition for m in mine}) == 1
        offsets = [m.offset for m in mine]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)


async def test_offsets_committed_only_after_the_handler_returned(h: Harness) -> None:
    topic = await h.topic()
    group = h.name("group")
    await h.bus.publish(topic, numbered(10))

    handled: list[Message] = []
    stuck_on: list[Message] = []
    entered = asyncio.Event()

    async def stops_at_sentinel(batch: Sequence[Message]) -> None:
        if any(m.value == b"m0010" for m in batch):
            stuck_on.extend(batch)
            entered.set()
            await asyncio.Event().wait()
        handled.extend(batch)

    task = h.consume(group, [topic], stops_at_sentinel)
    await h.until("the first 10 messages", lambda: len(handled) >= 10)
    # The loop hands the next batch over only after committing the previous ones, so a
    # handler stuck on m0010 (published now) proves m0000..m0009 were committed.
    await h.bus.publish(topic, numbered(1, start=10))
    await bounded(entered.wait(), "m0010")
    await h.cancel(task)  # cancelled inside the handler: m0010 stays uncommitted
    assert [m.value for m in stuck_on] == [b"m0010"]
    assert [m.value for m in handled] == [f"m{i:04d}".encode() for i in range(10)]

    await h.bus.publish(topic, numbered(2, start=11))
    again = Collector()
    h.consume(group, [topic], again)
    await h.until("m0010..m0012", lambda: len(again.messages) >= 3)
    await h.settle()
    assert again.values == [b"m0010", b"m0011", b"m0012"]


async def test_consumer_cancelled_before_commit_gets_the_batch_again(h: Harness) -> None:
    topic = await h.topic()
    group = h.name("group")
    messages = numbered(10)
    await h.bus.publish(topic, messages)

    seen: list[Message] = []
    entered = asyncio.Event()
    task = h.consume(group, [topic], blocking(seen, entered))
    await bounded(entered.wait(), "the first batch")
    await h.cancel(task)
    assert seen and seen[0].value == b"m0000"

    again = Collector()
    h.consume(group, [topic], again)
    await h.until("10 messages", lambda: len(again.messages) >= 10)
    await h.settle()
    assert [(m.key, m.value) for m in again.messages] == messages
    assert [(m.partition, m.offset) for m in again.messages[: len(seen)]] == [
        (m.partition, m.offset) for m in seen
    ]


async def test_failed_batch_is_redelivered(h: Harness) -> None:
    topic = await h.topic()
    messages = numbered(15)
    await h.bus.publish(topic, messages)

    calls: list[list[Message]] = []
    handled: list[Message] = []

    async def fails_once(batch: Sequence[Message]) -> None:
        calls.append(list(batch))
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")
        handled.extend(batch)

    h.consume(h.name("group"), [topic], fails_once)
    await h.until("15 handled messages", lambda: len(handled) >= 15)
    await h.settle()
    failed = calls[0]
    assert failed
    redelivered = handled[: len(failed)]
    assert [(m.partition, m.offset, m.value) for m in redelivered] == [
        (m.partition, m.offset, m.value) for m in failed
    ]
    assert [(m.key, m.value) for m in handled] == messages


async def test_raising_handler_commits_nothing(h: Harness) -> None:
    topic = await h.topic()
    group = h.name("group")
    messages = numbered(8)
    await h.bus.publish(topic, messages)

    calls: list[list[Message]] = []

    async def always_fails(batch: Sequence[Message]) -> None:
        calls.append(list(batch))
        raise RuntimeError("poison")

    task = h.consume(group, [topic], always_fails)
    await h.until("three attempts", lambda: len(calls) >= 3)
    await h.cancel(task)
    assert all(batch[0].value == b"m0000" for batch in calls)
    assert calls[1] == calls[0]

    again = Collector()
    h.consume(group, [topic], again)
    await h.until("8 messages", lambda: len(again.messages) >= 8)
    await h.settle()
    assert [(m.key, m.value) for m in again.messages] == messages


async def test_two_groups_each_see_every_message(h: Harness) -> None:
    topic = await h.topic()
    messages = [(k, f"{k.decode()}-{i}".encode()) for i in range(20) for k in (b"a", b"b", b"c")]
    first, second = Collector(), Collector()
    h.consume(h.name("first"), [topic], first)
    h.consume(h.name("second"), [topic], second)
    await h.bus.publish(topic, messages[:30])
    await h.bus.publish(topic, messages[30:])

    await h.until(
        "60 messages in both groups", lambda: min(len(first.messages), len(second.messages)) >= 60
    )
    await h.settle()
    for reader in (first, second):
        assert len(reader.messages) == 60
        assert sorted((m.key or b"", m.value) for m in reader.messages) == sorted(
            (k or b"", v) for k, v in messages
        )


async def test_batch_size_is_honoured(h: Harness) -> None:
    topic = await h.topic()
    messages = numbered(25)
    await h.bus.publish(topic, messages)

    reader = Collector()
    h.consume(h.name("group"), [topic], reader, batch_size=10)
    await h.until("25 messages", lambda: len(reader.messages) >= 25)
    await h.settle()
    sizes = [len(b) for b in reader.batches]
    assert max(sizes) == 10
    assert sum(sizes) == 25
    assert [(m.key, m.value) for m in reader.messages] == messages


async def test_consume_reads_several_topics(h: Harness) -> None:
    one, two = await h.topic("one"), await h.topic("two")
    await h.bus.publish(one, numbered(3))
    await h.bus.publish(two, numbered(4, start=100))

    reader = Collector()
    h.consume(h.name("group"), [one, two], reader)
    await h.until("7 messages", lambda: len(reader.messages) >= 7)
    await h.settle()
    by_topic = {t: [m.value for m in reader.messages if m.topic == t] for t in (one, two)}
    assert by_topic == {
        one: [b"m0000", b"m0001", b"m0002"],
        two: [b"m0100", b"m0101", b"m0102", b"m0103"],
    }


async def test_headers_travel_with_their_messages_and_lag_is_measured(h: Harness) -> None:
    topic = await h.topic()
    group = h.name("group")
    headers = [(("traceparent", f"00-{i:032x}-{i:016x}-01".encode()),) for i in range(1, 4)]
    await h.bus.publish(topic, [(b"k", b"a"), (b"k", b"b"), (b"k", b"c")], headers)
    await h.bus.publish(topic, [(b"k", b"plain")])
    got = Collector()
    h.consume(group, [topic], got)
    await h.until("4 messages", lambda: len(got.messages) >= 4)
    assert [m.headers for m in got.messages] == [*headers, ()]

    def lag() -> float | None:
        return REGISTRY.get_sample_value(
            "icb_consumer_lag",
            {"group": group, "topic": topic, "partition": str(got.messages[0].partition)},
        )

    await h.until("the lag gauge at 0", lambda: lag() == 0)
    stuck = asyncio.Event()

    async def failing(batch: Sequence[Message]) -> None:
        stuck.set()
        raise RuntimeError("stuck")

    other = h.name("stuck")
    h.consume(other, [topic], failing)
    await bounded(stuck.wait(), "the failing handler")
    partition = str(got.messages[0].partition)
    await h.until(
        "a stuck group's lag",
        lambda: (
            REGISTRY.get_sample_value(
                "icb_consumer_lag", {"group": other, "topic": topic, "partition": partition}
            )
            == 4
        ),
    )
