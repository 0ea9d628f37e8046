"""Operations in the embedded system: ``/metrics`` with the metric families of PRODUCT.md
section 15, JSON log lines with request, tenant and trace ids and no secrets, and one trace
from an ingest request through the bus to the unit table."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.observability.logs import log_handler
from tests.support.tracing import recorded_spans

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

UNIT_INSERT = re.compile(r"INSERT INTO (\S+\.)?units\b")
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def usage(org_id: str = "org-1", quantity: str = "12") -> dict[str, Any]:
    return {
        "module": "datto_rmm",
        "org_id": org_id,
        "org_name": "Contoso Ltd.",
        "metric": "servers",
        "date": YESTERDAY,
        "quantity": quantity,
    }


async def scrape(api: EmbeddedApi) -> dict[str, list[Any]]:
    """The samples of every family ``/metrics`` answers, by family name."""
    response = await api.client.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(samples: list[Any], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the JSON log handler writes while the test runs."""
    stream = io.StringIO()
    handler = log_handler("test", stream, fmt="json")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_metrics_answer_without_a_key_with_every_family(embedded_api: EmbeddedApi) -> None:
    api = embedded_api
    response = await api.client.post("/v1/usage", json={"records": [usage()]})
    assert response.status_code == 200, response.text
    assert (await api.client.get("/v1/companies/nope")).status_code == 404
    await api.settle()
    families = await scrape(api)

    http = families["icb_http_requests"]
    # Services label by route template; the gateway's answer is counted under its own.
    assert value(http, "icb_http_requests_total", service="ingest", route="/v1/usage") >= 1
    assert value(http, "icb_http_requests_total", service="gateway", status="404") >= 1
    # The gateway's catch-all forwards: its requests are labelled by the routing table's path.
    assert value(http, "icb_http_requests_total", service="gateway", route="/v1/usage") >= 1
    assert value(http, "icb_http_requests_total", service="gateway", route="/v1/companies/{}") >= 1
    routes = {s.labels["route"] for s in http}
    assert "/v1/companies/nope" not in routes, "raw paths must never become labels"
    durations = families["icb_http_request_duration_seconds"]
    assert value(durations, "icb_http_request_duration_seconds_count", service="ingest") >= 1

    lag = families["icb_consumer_lag"]
    topics = {s.labels["topic"] for s in lag}
    assert any(t.endswith("usage.recorded") for t in topics)
    assert all(s.value == 0 for s in lag if s.labels["topic"].endswith("usage.recorded"))
    assert value(families["icb_outbox_backlog"], "icb_outbox_backlog", service="ingest") == 0
    assert "icb_outbox_oldest_age_seconds" in families
    relayed = families["icb_outbox_relayed"]
    assert value(relayed, "icb_outbox_relayed_total", service="ingest") >= 1
    for family in (
        "icb_inbox_duplicates_skipped",
        "icb_dead_letters",
        "icb_sync_outcomes",
        "icb_job_duration_seconds",
        "icb_events_consumed",
    ):
        assert family in families, family


async def test_outbox_backlog_and_age_show_rows_not_yet_relayed(
    embedded_api: EmbeddedApi,
) -> None:
    api = embedded_api
    relay = api.system.ingest.relay

    async def held() -> int:
        return 0

    relay.drain_once = held  # type: ignore[method-assign]  # what is written stays put
    try:
        for org in ("org-1", "org-2", "org-3"):
            response = await api.client.post("/v1/usage", json={"records": [usage(org)]})
            assert response.status_code == 200, response.text
        await asyncio.sleep(0.2)
        families = await scrape(api)
    finally:
        del relay.drain_once
    backlog = value(families["icb_outbox_backlog"], "icb_outbox_backlog", service="ingest")
    assert backlog == 3  # one event a request
    age = value(
        families["icb_outbox_oldest_age_seconds"], "icb_outbox_oldest_age_seconds", service="ingest"
    )
    assert 0.2 <= age < 60
    relay.notify()
    await api.settle()
    families = await scrape(api)
    assert value(families["icb_outbox_backlog"], "icb_outbox_backlog", service="ingest") == 0


async def test_redelivered_events_count_as_duplicates(embedded_api: EmbeddedApi) -> None:
    api = embedded_api
    response = await api.client.post("/v1/usage", json={"records": [usage()]})
    assert response.status_code == 200, response.text
    await api.settle()
    consumer = next(c for c in api.system.mapping.consumers if c.topics[0].endswith("recorded"))
    before = value(
        (await scrape(api))["icb_inbox_duplicates_skipped"],
        "icb_inbox_duplicates_skipped_total",
        group=consumer.group,
    )
    topic = consumer.topics[0]
    messages = api.system.bus._logs[topic]
    await consumer.handle_batch(messages)  # the same events once more
    after = value(
        (await scrape(api))["icb_inbox_duplicates_skipped"],
        "icb_inbox_duplicates_skipped_total",
        group=consumer.group,
    )
    assert after - before == len(messages)


async def test_log_lines_are_json_with_request_tenant_and_trace_ids(
    embedded_api: EmbeddedApi, captured: io.StringIO
) -> None:
    api = embedded_api
    with recorded_spans():
        response = await api.client.post(
            "/v1/usage", json={"records": [usage()]}, headers={"x-request-id": "req-ops-1"}
        )
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    access = [
        line
        for line in lines
        if line["logger"] == "icb.access" and line["request_id"] == "req-ops-1"
    ]
    services = {line["service"] for line in access}
    assert services == {"test"}
    assert len(access) == 2, access  # the gateway's line and ingest's
    for line in access:
        assert line["tenant_id"] == api.tenant_id
        assert len(line["trace_id"]) == 32 and line["trace_id"] != "0" * 32
        assert line["level"] == "info"
    assert len({line["trace_id"] for line in access}) == 1


class Refusing(httpx.AsyncBaseTransport):
    """A module that refuses every credential, logging what it was sent as a careless
    client library would."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        logging.getLogger("icb.test.module").warning("sent headers %s", dict(request.headers))
        return httpx.Response(401, json={"error": "bad token"})


async def test_keys_and_secrets_never_reach_a_log_line(
    embedded_api: EmbeddedApi, captured: io.StringIO
) -> None:
    api = embedded_api
    log = logging.getLogger("icb.test")
    secrets = [
        api.key,
        "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4",
        "Zm9vOmJhcg-module-password",
        "tok-abcdef123456",
    ]
    log.info("calling with Authorization: Bearer %s", secrets[0])
    log.info("webhook secret is %s", secrets[1])
    log.warning("connection %s", {"credentials": {"password": secrets[2]}, "module": "datto"})
    log.info("headers=%r", {"authorization": f"Basic {secrets[3]}"})
    try:
        raise ValueError(f"refused key {api.key}")
    except ValueError:
        log.exception("failed")
    # A module refusing credentials: the credentials go into the request, never the logs.
    api.system.ingest.syncer.transport = Refusing()
    credential = "mod-credential-5d1e77a0"
    response = await api.client.put(
        "/v1/modules/datto_rmm/connection",
        json={"base_url": "http://module.test/v1", "credentials": {"token": credential}},
    )
    assert response.status_code == 422, response.text
    secrets.append(credential)
    # A real request with the key in its header, and a bad key that ends in a 401.
    assert (await api.client.get("/v1/companies")).status_code == 200
    bad = await api.client.get(
        "/v1/companies", headers={"Authorization": f"Bearer {api.key[:-4]}XXXX"}
    )
    assert bad.status_code == 401
    text = captured.getvalue()
    assert text.count("[redacted]") >= 5
    for secret in [*secrets, api.key[:-4]]:
        assert secret not in text, secret
    assert "module" in text  # what is not secret stays
    assert "sent headers" in text  # the module was asked, and what it was sent was logged


async def test_one_trace_from_an_ingest_request_to_the_unit_table(
    embedded_api: EmbeddedApi,
) -> None:
    api = embedded_api
    with recorded_spans() as exporter:
        response = await api.client.post("/v1/usage", json={"records": [usage("org-trace")]})
        assert response.status_code == 200, response.text
        await api.settle()
        spans = exporter.get_finished_spans()
    gateway = [s for s in spans if s.name == "POST /v1/{rest:path}"]
    assert len(gateway) == 1, [s.name for s in spans]
    trace_id = gateway[0].context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    names = {s.name for s in in_trace}
    assert "POST /v1/usage" in names  # ingest's server span, under the gateway's call
    consumers = {s.name for s in in_trace if s.name.endswith(" process")}
    assert any(".mapping." in n for n in consumers), names
    assert any(".invoicing.usage" in n for n in consumers), names

    def statement(span: Any) -> str:
        attributes = span.attributes or {}
        return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")

    unit_writes = [s for s in in_trace if UNIT_INSERT.match(statement(s))]
    assert unit_writes, [(s.name, statement(s)[:80]) for s in in_trace]
    # The write hangs, span by span, under the gateway's request: invoicing's consumer,
    # mapping's consumer, ingest's request.
    by_id = {s.context.span_id: s for s in in_trace}
    chain = []
    node = unit_writes[0]
    while node.parent is not None:
        node = by_id[node.parent.span_id]
        chain.append(node.name)
    assert node is gateway[0]
    assert chain.index("POST /v1/usage") > max(chain.index(n) for n in consumers), chain
