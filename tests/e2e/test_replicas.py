"""Horizontal scale on the real stack: two replicas each of ingest, mapping and invoicing share
the work of one large tenant (usage is keyed by tenant, module and org, so it spreads over every
partition) and build the same unit table as one replica of each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.polling import Pending, wait_for
from tests.support.stack import Stack, Tenant, running
from tools.sample import SampleMsp, generate
from tools.sample.load import LoadReport, batches, load_setup, map_orgs_by_truth

BATCH = 500
SETTLE_SECONDS = 180.0


@pytest.fixture
async def own_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack of its own: the replicas added here must not join the shared stack's groups."""
    async with running(Stack.from_env(tmp_path)) as stack:
        yield stack


def _last_month() -> str:
    return (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


async def _load(stack: Stack, tenant: Tenant, msp: SampleMsp, gateways: list[str]) -> int:
    """Companies, contracts, mappings, then the month's usage; the requests take turns
    between ``gateways``. Answers the number of records."""
    report = LoadReport()
    async with stack.client(tenant.key) as api:
        await load_setup(api, msp, report)
        await map_orgs_by_truth(api, msp, report, concurrency=4)
    bodies = [{"records": b} for b in batches(msp.records(), BATCH)]
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        for i, body in enumerate(bodies):
            response = await http.post(
                f"{stack.url(gateways[i % len(gateways)])}/v1/usage", json=body
            )
            assert response.status_code == 200, response.text
            assert not response.json()["rejected"], response.json()["rejected"][:3]
    return sum(len(b["records"]) for b in bodies)


async def _settled_units(stack: Stack, tenant: Tenant, records: int) -> list[tuple[Any, ...]]:
    """The tenant's unit table once every record is in it and it no longer changes, with
    each company named rather than by its id (ids differ between tenants)."""
    names = {
        r["id"]: r["name"]
        for r in await stack.fetch(
            "SELECT id, name FROM mapping.companies WHERE tenant_id = $1", tenant.id
        )
    }
    last: list[tuple[Any, ...]] = []

    async def steady() -> list[tuple[Any, ...]] | Pending:
        nonlocal last
        units = [
            (
                u.module,
                u.org_id,
                u.metric,
                u.day,
                u.service_code,
                u.status,
                names.get(u.company_id or ""),
                u.quantity,
                u.version,
            )
            for u in await stack.units(tenant.id)
        ]
        keys = {u[:4] for u in units}
        before, last = last, units
        if len(keys) < records or units != before:
            return Pending(f"{len(keys)} of {records} records in the unit table")
        return units

    return await wait_for(steady, SETTLE_SECONDS, "the unit table to settle", interval=1.0)


async def _counted(stack: Stack, name: str, metric: str, **labels: str) -> float:
    """The process's counter ``metric`` summed over the samples with the given labels."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{stack.url(name)}/metrics")).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def _consumed(stack: Stack, name: str) -> float:
    """Usage events the process handed to its handlers so far."""
    return sum(
        [
            await _counted(stack, name, "icb_events_consumed_total", topic=stack.topic_prefix + t)
            for t in ("usage.recorded", "usage.resolved")
        ]
    )


async def _usage_posts(stack: Stack, name: str) -> float:
    return await _counted(stack, name, "icb_http_requests_total", method="POST", route="/v1/usage")


async def _members(stack: Stack, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    _error, _group, state, _ptype, _protocol, members = response.groups[0][:6]
    return len(members) if state == "Stable" else 0


async def test_two_replicas_of_each_service_share_the_work_and_build_the_same_unit_table(
    own_stack: Stack,
) -> None:
    stack = own_stack
    msp = generate(seed=23, companies=8, period=_last_month())
    one = stack.admin
    assert one is not None
    records = await _load(stack, one, msp, ["gateway"])
    alone = await _settled_units(stack, one, records)
    mapped = sum(1 for u in alone if u[5] == "mapped")
    assert mapped > len(alone) / 2, "the sample maps most orgs to companies and services"

    for service in ("ingest", "mapping", "invoicing"):
        await stack.add_replica(service)
    await stack.add_replica("gateway", ICB_INGEST_URL=stack.url("ingest-2"))
    for service in ("mapping", "invoicing"):
        group = f"{stack.topic_prefix}{service}.usage"

        async def both_joined(group: str = group) -> bool | Pending:
            n = await _members(stack, group)
            return n == 2 or Pending(f"{group} has {n} stable members")

        await wait_for(both_joined, 60, f"two members in {group}", interval=0.5)
    before = {name: await _consumed(stack, name) for name in ("mapping", "invoicing")}

    two = await stack.new_tenant()
    assert await _load(stack, two, msp, ["gateway", "gateway-2"]) == records
    shared = await _settled_units(stack, two, records)

    assert shared == alone
    for service in ("mapping", "invoicing"):
        assert await _consumed(stack, service) > before[service], f"{service} took no share"
        assert await _consumed(stack, f"{service}-2") > 0, f"{service}-2 took no share"
    for ingest in ("ingest", "ingest-2"):
        assert await _usage_posts(stack, ingest) > 0, f"{ingest} took no request"
