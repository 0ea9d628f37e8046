"""Operations on the real stack (four service processes, Kafka, PostgreSQL): every service's
``/metrics`` after traffic, and one trace, exported by OTLP, from the gateway's request
through the outbox and Kafka's message headers to the unit-table write in invoicing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.otlp import ReceivedSpan, Receiver
from tests.support.polling import Pending, wait_for
from tests.support.stack import SERVICES, Stack, running

pytestmark = pytest.mark.e2e

UNIT_INSERT = re.compile(r"INSERT INTO (\S+\.)?units\b")
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


@dataclass
class TracedStack(Stack):
    """The stack with its services exporting spans to ``otlp_endpoint``."""

    otlp_endpoint: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "ICB_OTLP_ENDPOINT": self.otlp_endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # milliseconds: spans reach the test quickly
        }


@pytest.fixture(scope="module")
async def traced(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[TracedStack, Receiver]]:
    receiver = Receiver()
    receiver.start()
    base = Stack.from_env(tmp_path_factory.mktemp("traced"))
    stack = TracedStack(base.root_url, base.kafka, base.workdir, otlp_endpoint=receiver.endpoint)
    try:
        async with running(stack):
            yield stack, receiver
    finally:
        receiver.stop()


def usage(org_id: str) -> dict[str, Any]:
    return {
        "module": "datto_rmm",
        "org_id": org_id,
        "org_name": "Traced Ltd.",
        "metric": "servers",
        "date": YESTERDAY,
        "quantity": "3",
    }


async def test_one_trace_from_the_gateway_through_kafka_to_the_unit_table(
    traced: tuple[TracedStack, Receiver],
) -> None:
    stack, receiver = traced
    tenant = await stack.new_tenant()
    async with stack.client(tenant.key) as client:
        response = await client.post("/v1/usage", json={"records": [usage("org-traced")]})
    assert response.status_code == 200, response.text

    async def chain() -> list[ReceivedSpan] | Pending:
        spans = receiver.snapshot()
        by_id = {s.span_id: s for s in spans}
        for write in spans:
            if write.service != "icb-invoicing" or not UNIT_INSERT.match(
                write.attributes.get("db.statement", "")
            ):
                continue
            path = [write]
            while path[-1].parent_id and path[-1].parent_id in by_id:
                path.append(by_id[path[-1].parent_id])
            if path[-1].service == "icb-gateway" and not path[-1].parent_id:
                return path
        return Pending(f"{len(spans)} spans, no unit write under a gateway request yet")

    path = await wait_for(chain, 60, "the unit write's trace")
    assert len({s.trace_id for s in path}) == 1
    services = [s.service for s in reversed(path)]
    # Root first: the gateway's request, ingest's request, mapping's consumer, invoicing's.
    first = {name: services.index(name) for name in dict.fromkeys(services)}
    assert list(first) == ["icb-gateway", "icb-ingest", "icb-mapping", "icb-invoicing"]
    assert path[-1].name == "POST /v1/{rest:path}"


async def test_every_service_serves_its_metrics_after_traffic(
    traced: tuple[TracedStack, Receiver],
) -> None:
    stack, _ = traced
    tenant = await stack.new_tenant()
    async with stack.client(tenant.key) as client:
        records = [usage(f"org-m{i}") for i in range(40)]
        response = await client.post("/v1/usage", json={"records": records})
        assert response.status_code == 200, response.text

    async def units() -> int | Pending:
        n = await stack.unit_count(tenant.id)
        return n if n == 40 else Pending(f"{n} of 40 units")

    await wait_for(units, 60, "the units")
    families: dict[str, dict[str, list[Any]]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name in SERVICES:
            response = await http.get(f"{stack.url(name)}/metrics")
            assert response.status_code == 200, name
            families[name] = {
                f.name: f.samples for f in text_string_to_metric_families(response.text)
            }
    ingest_http = families["ingest"]["icb_http_requests"]
    assert any(
        s.labels["route"] == "/v1/usage" and s.labels["status"] == "200" and s.value >= 1
        for s in ingest_http
        if s.name.endswith("_total")
    )
    # Lag per topic and partition: 40 orgs' events spread over the topic's partitions.
    lag = families["mapping"]["icb_consumer_lag"]
    recorded = [s for s in lag if s.labels["topic"].endswith("usage.recorded")]
    partitions = {s.labels["partition"] for s in recorded}
    assert len(partitions) >= 2, lag
    for name in ("ingest", "mapping", "invoicing"):
        backlog = families[name]["icb_outbox_backlog"]
        assert [s.value for s in backlog if s.labels["service"] == name] == [0]
    consumed = families["invoicing"]["icb_events_consumed"]
    assert sum(s.value for s in consumed if s.name.endswith("_total")) >= 1
