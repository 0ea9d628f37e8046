"""``webhook_endpoint_disabled`` through the gateway's ``GET /v1/insights``: a warning for each
endpoint disabled after days of failed deliveries, gone once a retry by hand succeeds (which
enables it again) or the endpoint is deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from services.invoicing.webhooks.deliverer import Deliverer
from tests.api.test_invoicing_support import InvoicingApi, embedded_with, ok
from tests.api.test_invoicing_webhooks import FakeSender, failing_for_a_week

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApiFactory

KIND = "webhook_endpoint_disabled"


@pytest.fixture
async def billing(make_embedded_api: EmbeddedApiFactory) -> AsyncIterator[InvoicingApi]:
    async with embedded_with(make_embedded_api, webhook_allow_private=True) as api:
        yield api


async def _insights(billing: InvoicingApi, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await billing.client.get("/v1/insights", params=params))["items"])


async def _disabled(billing: InvoicingApi, url: str, sender: FakeSender) -> tuple[str, Deliverer]:
    endpoint_id, _, deliverer = await failing_for_a_week(billing, url, sender, ("x1", "x2"))
    return endpoint_id, deliverer


async def test_a_disabled_endpoint_is_an_insight_until_a_retry_by_hand_succeeds(
    billing: InvoicingApi,
) -> None:
    url = "https://books.example/w00001"
    assert await _insights(billing, kind=KIND) == []
    sender = FakeSender()
    endpoint_id, deliverer = await _disabled(billing, url, sender)
    [listed] = ok(await billing.client.get("/v1/webhooks"))["items"]
    assert listed["status"] == "disabled"

    [insight] = await _insights(billing, kind=KIND)
    assert insight == {
        "kind": KIND,
        "severity": "warning",
        "webhook_id": endpoint_id,
        "url": url,
        "since": "2100-01-01T00:00:00Z",
        "count": 2,
        "message": f"The webhook endpoint {url} is disabled: every delivery failed since "
        "2100-01-01T00:00:00Z; 2 wait undelivered. Fix the receiver, then retry a delivery "
        "by hand to enable it again.",
    }
    assert insight in await _insights(billing)
    assert await _insights(billing, kind="usage_anomaly") == []
    both = await _insights(billing, kind=f"usage_anomaly,{KIND}")
    assert [i["kind"] for i in both] == [KIND]

    sender.status["x1"] = 200
    await deliverer.retry_now(billing.api.tenant_id, endpoint_id, f"x1-{endpoint_id}")
    [listed] = ok(await billing.client.get("/v1/webhooks"))["items"]
    assert listed["status"] == "active"
    assert await _insights(billing, kind=KIND) == []
    assert all(i["kind"] != KIND for i in await _insights(billing))


async def test_a_deleted_disabled_endpoint_is_no_insight(billing: InvoicingApi) -> None:
    first, _ = await _disabled(billing, "https://books.example/w00002", FakeSender())
    second, _ = await _disabled(billing, "https://books.example/w00003", FakeSender())
    found = await _insights(billing, kind=KIND)
    assert sorted(i["webhook_id"] for i in found) == sorted([first, second])

    ok(await billing.client.delete(f"/v1/webhooks/{first}"), 204)
    assert [i["webhook_id"] for i in await _insights(billing, kind=KIND)] == [second]
