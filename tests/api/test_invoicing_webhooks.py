"""Webhooks through the API to a real local HTTP receiver (``webhook_allow_private``): the
Standard Webhooks headers and signature, the delivery log, retries by hand, secret rotation,
refused targets, roles, and the deliverer's order per invoice and per-endpoint slots."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema
import orjson
import pytest
from sqlalchemy import select

from services.invoicing.webhooks import signing
from services.invoicing.webhooks.deliverer import Deliverer
from services.invoicing.webhooks.fanout import ORDER_HOLD, WebhookFanout
from services.invoicing.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from services.invoicing.webhooks.schedule import RetryPolicy
from services.invoicing.webhooks.sender import Outcome, Sender
from shared.bus import Message
from shared.event_contract import committed_schema
from shared.events import Envelope, EnvelopeHead
from shared.wire import as_utc
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    embedded_with,
    latest_month,
    ok,
    service,
    steps,
)
from tests.support.webhook_receiver import Receiver, receiver

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApiFactory

PERIOD = latest_month(30)


@pytest.fixture
async def billing(make_embedded_api: EmbeddedApiFactory) -> AsyncIterator[InvoicingApi]:
    async with embedded_with(
        make_embedded_api, webhook_allow_private=True, webhook_poll_seconds=0.05
    ) as api:
        yield api


@pytest.fixture
def hook() -> AsyncIterator[Receiver]:
    with receiver() as r:
        yield r


async def _posted_invoice(billing: InvoicingApi, name: str = "Contoso Ltd") -> dict[str, Any]:
    company = await billing.company(name, tax_rate="0.19")
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((30, 4)))
    await billing.contract(company, [service("RMM-SRV", "12.50")], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)
    return await billing.post(draft["id"])


async def _webhook(billing: InvoicingApi, url: str, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "events": ["invoice.posted"], **extra}
    created: dict[str, Any] = ok(await billing.client.post("/v1/webhooks", json=body), 201)
    return created


async def test_a_posted_invoice_arrives_signed_per_standard_webhooks(
    billing: InvoicingApi, hook: Receiver
) -> None:
    created = await _webhook(billing, f"{hook.url}/hook", description="ledger")
    assert created["secret"].startswith("whsec_")
    listed = ok(await billing.client.get("/v1/webhooks"))["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]

    posted = await _posted_invoice(billing)
    [request] = await hook.wait_for(1)

    headers, body = request.headers, request.body
    timestamp = int(headers["webhook-timestamp"])
    assert abs(timestamp - datetime.now(UTC).timestamp()) < 120
    assert signing.verify(
        created["secret"], headers["webhook-id"], timestamp, body, headers["webhook-signature"]
    )
    assert not signing.verify(
        signing.new_secret(), headers["webhook-id"], timestamp, body, headers["webhook-signature"]
    )
    envelope = json.loads(body)
    assert envelope["id"] == headers["webhook-id"]
    assert envelope["type"] == "invoice.posted"
    assert envelope["data"]["invoice"]["id"] == posted["id"]
    assert envelope["data"]["invoice"]["balance"] == posted["balance"]
    schema = committed_schema("invoice.posted", 1)
    assert schema is not None
    jsonschema.validate(envelope, schema)

    deliveries = await _deliveries_when(billing, created["id"], "succeeded")
    [delivery] = deliveries
    assert delivery["event_id"] == headers["webhook-id"]
    assert delivery["attempts"] == 1
    assert [a["response_status"] for a in delivery["log"]] == [204]


async def _deliveries_when(
    billing: InvoicingApi, webhook_id: str, status: str
) -> list[dict[str, Any]]:
    for _ in range(200):
        page = ok(await billing.client.get(f"/v1/webhooks/{webhook_id}/deliveries"))
        if page["items"] and all(d["status"] == status for d in page["items"]):
            return list(page["items"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries never all {status}: {page['items']}")


async def test_a_failed_delivery_waits_its_back_off_and_can_be_retried_by_hand(
    billing: InvoicingApi, hook: Receiver
) -> None:
    hook.answer = lambda _r: 503
    created = await _webhook(billing, f"{hook.url}/hook")
    await _posted_invoice(billing)
    [first] = await hook.wait_for(1)
    for _ in range(100):
        [delivery] = ok(await billing.client.get(f"/v1/webhooks/{created['id']}/deliveries"))[
            "items"
        ]
        if delivery["attempts"] == 1:
            break
        await asyncio.sleep(0.05)
    assert delivery["status"] == "pending"
    assert delivery["log"][0]["response_status"] == 503
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=5) < wait <= timedelta(seconds=30)

    hook.answer = lambda _r: 200
    retried = ok(
        await billing.client.post(f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/retry")
    )
    assert retried["status"] == "succeeded"
    assert [(a["response_status"], a["manual"]) for a in retried["log"]] == [
        (503, False),
        (200, True),
    ]
    second = hook.at("/hook")[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    again = await billing.client.post(
        f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/retry"
    )
    assert again.status_code == 409


async def test_a_rotated_secret_signs_beside_the_new_one(
    billing: InvoicingApi, hook: Receiver
) -> None:
    created = await _webhook(billing, f"{hook.url}/hook")
    rotated = ok(await billing.client.post(f"/v1/webhooks/{created['id']}/secret-rotation"))
    assert rotated["secret"] != created["secret"]
    await _posted_invoice(billing)
    [request] = await hook.wait_for(1)
    header = request.headers["webhook-signature"]
    assert len(header.split()) == 2
    ts = int(request.headers["webhook-timestamp"])
    for secret in (created["secret"], rotated["secret"]):
        assert signing.verify(secret, request.headers["webhook-id"], ts, request.body, header)


async def test_deleting_a_webhook_stops_it(billing: InvoicingApi, hook: Receiver) -> None:
    created = await _webhook(billing, f"{hook.url}/hook")
    ok(await billing.client.delete(f"/v1/webhooks/{created['id']}"), 204)
    assert ok(await billing.client.get("/v1/webhooks"))["items"] == []
    gone = await billing.client.get(f"/v1/webhooks/{created['id']}/deliveries")
    assert gone.status_code == 404
    await _posted_invoice(billing)
    await asyncio.sleep(0.5)
    assert hook.at("/hook") == []


async def test_bad_webhooks_are_refused_precisely(billing: InvoicingApi) -> None:
    for body, loc in (
        ({"url": "ftp://example.com/x", "events": ["invoice.posted"]}, ["body", "url"]),
        ({"url": "https://8.8.8.8/x", "events": ["usage.recorded"]}, ["body", "events", 0]),
        ({"url": "https://8.8.8.8/x", "events": []}, ["body", "events"]),
        ({"url": "https://8.8.8.8:99999/x", "events": ["invoice.posted"]}, ["body", "url"]),
    ):
        answer = await billing.client.post("/v1/webhooks", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["loc"] == loc
    assert ok(await billing.client.get("/v1/webhooks"))["items"] == []


async def test_private_targets_are_refused_unless_allowed(
    make_embedded_api: EmbeddedApiFactory,
) -> None:
    async with embedded_with(make_embedded_api) as billing:
        for url in (
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
        ):
            answer = await billing.client.post(
                "/v1/webhooks", json={"url": url, "events": ["invoice.posted"]}
            )
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["errors"][0]["loc"] == ["body", "url"]
        assert ok(await billing.client.get("/v1/webhooks"))["items"] == []


async def test_only_admins_manage_webhooks(billing: InvoicingApi) -> None:
    key = ok(
        await billing.client.post("/v1/api-keys", json={"name": "books", "role": "billing"}), 201
    )["key"]
    headers = {"Authorization": f"Bearer {key}"}
    for method, path in (("GET", "/v1/webhooks"), ("POST", "/v1/webhooks")):
        answer = await billing.client.request(
            method, path, headers=headers, json={"url": "https://example.com", "events": []}
        )
        assert answer.status_code == 403, (method, path, answer.text)


class FakeSender(Sender):
    """Records what would be sent; answers from ``status`` per event id (default 200)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.status: dict[str, int] = {}
        self.gates: dict[str, asyncio.Event] = {}

    async def send(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        event_id = headers["webhook-id"]
        self.sent.append(event_id)
        if event_id in self.gates:
            await self.gates[event_id].wait()
        return Outcome(self.status.get(event_id, 200), None, 1)

    async def close(self) -> None:
        return None


async def _queue(
    billing: InvoicingApi, url: str, events: list[tuple[str, str, int]]
) -> tuple[str, datetime]:
    """An endpoint with deliveries ``(event_id, invoice, second)`` far in the future, so
    only the test's own deliverer (whose clock is there) takes them."""
    future = datetime(2100, 1, 1, tzinfo=UTC)
    runtime = billing.api.system.invoicing
    async with runtime.transaction() as session:
        endpoint = WebhookEndpointRow(
            id=f"ep-{url[-6:]}",
            tenant_id=billing.api.tenant_id,
            url=url,
            events=["invoice.posted"],
            secret=signing.new_secret(),
            status=EndpointStatus.ACTIVE,
            created_at=future,
            updated_at=future,
        )
        session.add(endpoint)
        await session.flush()
        for event_id, invoice, second in events:
            session.add(
                WebhookDeliveryRow(
                    id=f"{event_id}-{endpoint.id}",
                    tenant_id=billing.api.tenant_id,
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    event_type="invoice.posted",
                    ordering_key=invoice,
                    payload="{}",
                    occurred_at=future + timedelta(seconds=second),
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=future,
                    created_at=future,
                )
            )
    return endpoint.id, future


async def _drain(deliverer: Deliverer) -> None:
    while await deliverer.drain_once() + await deliverer.in_flight():
        pass


async def failing_for_a_week(
    billing: InvoicingApi, url: str, sender: FakeSender, events: tuple[str, str]
) -> tuple[str, list[datetime], Deliverer]:
    """An endpoint with two deliveries (``events``) that fail for a week under a policy that
    disables after five days; the deliverer's clock is the returned one-item list."""
    endpoint_id, future = await _queue(
        billing, url, [(events[0], "inv-d", 0), (events[1], "inv-e", 1)]
    )
    sender.status.update(dict.fromkeys(events, 500))
    now = [future]
    runtime = billing.api.system.invoicing
    deliverer = Deliverer(
        runtime.sessions,
        sender,
        policy=RetryPolicy(base_seconds=3600, cap_seconds=86400, disable_after=timedelta(days=5)),
        clock=lambda: now[0],
        jitter=lambda: 0.0,
        outbox=runtime.outbox,
    )
    for day_ in range(7):
        now[0] = future + timedelta(days=day_)
        await _drain(deliverer)
    return endpoint_id, now, deliverer


async def test_deliveries_of_one_invoice_go_in_order_and_wait_for_a_failed_one(
    billing: InvoicingApi,
) -> None:
    endpoint_id, future = await _queue(
        billing,
        "https://books.example/a00001",
        [("a2", "inv-a", 2), ("a1", "inv-a", 1), ("b1", "inv-b", 3), ("a3", "inv-a", 3)],
    )
    sender = FakeSender()
    sender.status["a1"] = 500
    now = [future]
    deliverer = Deliverer(
        billing.api.system.invoicing.sessions,
        sender,
        policy=RetryPolicy(base_seconds=60),
        clock=lambda: now[0],
        jitter=lambda: 0.0,
    )
    await _drain(deliverer)
    assert sender.sent == ["a1", "b1"]  # a2 and a3 wait behind the failed a1

    sender.status["a1"] = 200
    now[0] = future + timedelta(seconds=29)
    await _drain(deliverer)
    assert sender.sent == ["a1", "b1"]  # a1's back-off (60 s x 0.5) has not run out

    now[0] = future + timedelta(seconds=31)
    await _drain(deliverer)
    assert sender.sent == ["a1", "b1", "a1", "a2", "a3"]
    async with billing.api.system.invoicing.sessions() as session:
        statuses = set(
            await session.scalars(
                select(WebhookDeliveryRow.status).where(
                    WebhookDeliveryRow.endpoint_id == endpoint_id
                )
            )
        )
    assert statuses == {DeliveryStatus.SUCCEEDED}


async def test_a_slow_endpoint_does_not_hold_up_another(billing: InvoicingApi) -> None:
    many = [(f"s{i}", f"inv-s{i}", i) for i in range(6)]
    await _queue(billing, "https://slow.example/s00001", many)
    await _queue(billing, "https://fast.example/f00001", [("f1", "inv-f", 0)])
    sender = FakeSender()
    for event_id, _, _ in many:
        sender.gates[event_id] = asyncio.Event()
    deliverer = Deliverer(
        billing.api.system.invoicing.sessions,
        sender,
        endpoint_concurrency=2,
        clock=lambda: datetime(2100, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    await deliverer.drain_once()
    await asyncio.sleep(0.05)
    assert "f1" in sender.sent
    assert len([s for s in sender.sent if s.startswith("s")]) == 2  # its two slots
    for gate in sender.gates.values():
        gate.set()
    await _drain(deliverer)
    assert sorted(sender.sent) == sorted(["f1", *(e for e, _, _ in many)])


async def test_events_queued_out_of_order_within_the_hold_go_out_in_order(
    billing: InvoicingApi,
) -> None:
    """Two events of one invoice arrive reversed (as two topics may deliver them), one of
    them twice: the fan-out queues each once, and the deliverer sends them as they occurred."""
    endpoint_id, future = await _queue(billing, "https://books.example/o00001", [])
    runtime = billing.api.system.invoicing
    fanout = WebhookFanout(
        group="test.webhooks",
        bus=billing.api.system.bus,
        sessions=runtime.sessions,
        inbox=runtime.inbox_table,
        handlers={},
        topic_prefix="test.",
    )
    fanout.clock = lambda: future

    def message(offset: int, second: int, status: str) -> Message:
        head = EnvelopeHead(
            type="invoice.posted",
            version=1,
            tenant_id=billing.api.tenant_id,
            occurred_at=future + timedelta(seconds=second),
        )
        envelope = Envelope(
            **head.model_dump(), data={"invoice": {"id": "inv-o", "status": status}}
        )
        return Message("test.invoice.posted", 0, offset, None, envelope.model_dump_json().encode())

    earlier, later = message(1, 1, "posted"), message(2, 2, "paid")
    await fanout.handle_batch([later])
    await fanout.handle_batch([earlier, later])
    async with runtime.sessions() as session:
        queued = list(
            await session.scalars(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id)
            )
        )
    assert len(queued) == 2
    assert {as_utc(d.next_attempt_at) for d in queued if d.next_attempt_at} == {
        future + timedelta(seconds=1) + ORDER_HOLD,
        future + timedelta(seconds=2) + ORDER_HOLD,
    }

    sender = FakeSender()
    bodies: list[str] = []
    original = sender.send

    async def record(url: str, headers: dict[str, str], body: str) -> Outcome:
        bodies.append(json.loads(body)["data"]["invoice"]["status"])
        return await original(url, headers, body)

    sender.send = record  # type: ignore[method-assign]
    deliverer = Deliverer(runtime.sessions, sender, clock=lambda: future + timedelta(seconds=10))
    await _drain(deliverer)
    assert bodies == ["posted", "paid"]


async def test_an_endpoint_failing_for_days_is_disabled_and_a_manual_success_enables_it(
    billing: InvoicingApi,
) -> None:
    sender = FakeSender()
    endpoint_id, now, deliverer = await failing_for_a_week(
        billing, "https://books.example/d00001", sender, ("d1", "d2")
    )
    runtime = billing.api.system.invoicing
    async with runtime.sessions() as session:
        endpoint = await session.get(WebhookEndpointRow, endpoint_id)
    assert endpoint is not None
    assert endpoint.status == EndpointStatus.DISABLED
    assert endpoint.disabled_reason and "since 2100-01-01" in endpoint.disabled_reason
    sent = len(sender.sent)
    now[0] += timedelta(days=2)  # eight days after the first attempt
    await _drain(deliverer)
    assert len(sender.sent) == sent  # a disabled endpoint's deliveries wait

    await billing.api.settle()
    disabled = [
        orjson.loads(m.value)
        for m in billing.api.system.bus.published()
        if m.topic.endswith("webhook.endpoint_disabled")
    ]
    assert [e["data"]["endpoint_id"] for e in disabled] == [endpoint_id]
    assert disabled[0]["tenant_id"] == billing.api.tenant_id

    sender.status["d1"] = 200
    retried = await deliverer.retry_now(billing.api.tenant_id, endpoint_id, f"d1-{endpoint_id}")
    assert retried.status == DeliveryStatus.SUCCEEDED
    async with runtime.sessions() as session:
        endpoint = await session.get(WebhookEndpointRow, endpoint_id)
    assert endpoint is not None and endpoint.status == EndpointStatus.ACTIVE
