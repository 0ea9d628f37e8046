"""The pieces behind the doors: which errors are outages, redaction of reported changes, and
the in-process bus that returns from ``publish`` only once its subscribers handled it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from shared.bus import Handler, InProcessBus, Message
from shared.changes import (
    MAX_HEADER_BYTES,
    REDACTED,
    changed,
    collecting,
    decode,
    encode,
    redact,
)
from shared.problems import RETRY_AFTER_SECONDS, ServiceUnavailable, is_outage


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        socket.gaierror(-2, "Name or service not known"),
        KafkaConnectionError(),
        OperationalError("SELECT 1", {}, _Orig("08006")),
        ProgrammingError("SELECT 1", {}, _Orig("57P01")),  # admin shutdown
        ProgrammingError("SELECT 1", {}, _Orig("53300")),  # too many connections
    ],
)
def test_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, _Orig("23505")),
        ProgrammingError("SELECT", {}, _Orig("42P01")),
        FileNotFoundError("x"),
        ValueError("x"),
    ],
)
def test_not_outages(exc: BaseException) -> None:
    assert not is_outage(exc)


def test_service_unavailable_always_names_a_retry_after() -> None:
    assert ServiceUnavailable().headers == {"Retry-After": str(RETRY_AFTER_SECONDS)}
    assert ServiceUnavailable(headers={"Retry-After": "9"}).headers["Retry-After"] == "9"


def test_secrets_are_redacted_at_any_depth() -> None:
    state = {
        "name": "x",
        "credentials": {"token": "t"},
        "nested": [{"password": "p", "client_secret": "s", "api_key": "k", "key": "k2"}],
        "signing_secret": "w",
        "keyboard": "kept",
    }
    assert redact(state) == {
        "name": "x",
        "credentials": REDACTED,
        "nested": [
            {"password": REDACTED, "client_secret": REDACTED, "api_key": REDACTED, "key": REDACTED}
        ],
        "signing_secret": REDACTED,
        "keyboard": "kept",
    }


def test_changes_travel_in_a_header_and_only_inside_a_request() -> None:
    changed("contracts", "c1", "contract.update", None, {"name": "outside"})  # dropped
    with collecting() as changes:
        changed("contracts", "c1", "contract.update", {"name": "a"}, {"name": "b", "token": "t"})
    (change,) = decode(encode(changes))
    assert (change.resource, change.resource_id, change.action) == (
        "contracts",
        "c1",
        "contract.update",
    )
    assert change.before == {"name": "a"} and change.after == {"name": "b", "token": REDACTED}
    assert decode("not base64 json!") == []
    with collecting() as big:
        changed("contracts", "c2", "contract.create", None, {"text": "x" * 100_000})
    (truncated,) = decode(encode(big))
    assert truncated.after is None and len(encode(big)) < 1000


def test_the_changes_header_stays_small_for_thousands_of_changes() -> None:
    """An auto-map of 5,000 orgs: the gateway's HTTP client refuses headers above 100 KiB,
    so a header listing each change would turn the applied write into a 503."""
    with collecting() as many:
        for i in range(5000):
            changed("module-orgs", f"datto_rmm/org-{i:05d}", "org.map", None, {"company": "c"})
        changed("contracts", "c1", "contract.update", {"a": 1}, {"a": 2})
    header = encode(many)
    assert len(header) < MAX_HEADER_BYTES * 4 // 3 + 100
    summary = {(c.resource, c.action, c.resource_id, c.after) for c in decode(header)}
    assert summary == {
        ("module-orgs", "org.map", None, None),
        ("contracts", "contract.update", None, None),
    }


async def test_publish_waits_until_every_subscribed_group_committed() -> None:
    bus = InProcessBus(retry_seconds=0.01)
    bus.subscribe("g1", ["t"])
    bus.subscribe("g2", ["t"])
    handled: dict[str, list[bytes]] = {"g1": [], "g2": []}
    release = asyncio.Event()
    failures = [1]

    def handler(group: str) -> Handler:
        async def handle(batch: Sequence[Message]) -> None:
            if group == "g2":
                await release.wait()
                if failures:
                    failures.pop()
                    raise RuntimeError("redelivered")
            handled[group].extend(m.value for m in batch)

        return handle

    consumers = [asyncio.create_task(bus.consume(g, ["t"], handler(g))) for g in handled]
    publishing = asyncio.create_task(bus.publish("t", [(None, b"a"), (None, b"b")]))
    await asyncio.sleep(0.05)
    assert handled["g1"] == [b"a", b"b"] and not publishing.done()  # g2 has not handled it
    release.set()
    await asyncio.wait_for(publishing, 2)
    assert handled["g2"] == [b"a", b"b"]
    await bus.publish("other", [(None, b"c")])  # no subscriber: at once
    for task in consumers:
        task.cancel()
