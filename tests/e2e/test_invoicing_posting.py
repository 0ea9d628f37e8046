"""Posting on the real stack (four service processes, Kafka, PostgreSQL): twenty concurrent
post requests on twenty drafts take the numbers 1..20, without gap or repeat, and every
post publishes ``invoice.posted`` on Kafka with the full invoice, as the API shows it."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from tests.support.kafka import _partitions
from tests.support.polling import Pending, wait_for
from tests.support.scenario import get_all, ok
from tests.support.stack import Stack, Tenant

pytestmark = pytest.mark.e2e

DRAFTS = 20
SETTLE_SECONDS = 90.0
_LAST_MONTH_END = date.today().replace(day=1) - timedelta(days=1)
PERIOD = _LAST_MONTH_END.strftime("%Y-%m")
FIRST = _LAST_MONTH_END.replace(day=1)
DAYS = _LAST_MONTH_END.day
MODULE, METRIC, ORG = "datto_rmm", "servers", "rmm-e2e-1"


async def _usage_company(
    api: httpx.AsyncClient, stack: Stack, tenant: Tenant, company_id: str
) -> None:
    """4 servers a day all month for the first company, through the whole pipeline."""
    ok(
        await api.put(
            f"/v1/modules/{MODULE}/billing", json={"enabled": True, "effective_from": "2020-01-01"}
        )
    )
    ok(await api.put(f"/v1/service-mappings/{MODULE}/{METRIC}", json={"service_codes": ["SRV"]}))
    records = [
        {
            "module": MODULE,
            "org_id": ORG,
            "org_name": "Company 0 servers",
            "metric": METRIC,
            "date": (FIRST + timedelta(days=i)).isoformat(),
            "quantity": "4",
        }
        for i in range(DAYS)
    ]
    ok(await api.post("/v1/usage", json={"records": records}))

    async def org_visible() -> bool:
        return any(o["org_id"] == ORG for o in await get_all(api, "/v1/module-orgs"))

    await wait_for(org_visible, SETTLE_SECONDS, "the module org")
    ok(await api.put(f"/v1/module-orgs/{MODULE}/{ORG}/mapping", json={"company_id": company_id}))

    async def billed() -> bool | Pending:
        rows = await get_all(
            api,
            "/v1/usage",
            company_id=company_id,
            **{"from": FIRST.isoformat(), "to": _LAST_MONTH_END.isoformat()},
        )
        replica = await stack.fetch(
            "SELECT count(*) AS n FROM invoicing.module_billing WHERE tenant_id = $1 AND enabled",
            tenant.id,
        )
        return (len(rows) == DAYS and replica[0]["n"] == 1) or Pending(
            f"{len(rows)} unit rows, module billing replica {replica[0]['n']}"
        )

    await wait_for(billed, SETTLE_SECONDS, "the unit table and module billing replica")


async def _posted_events(stack: Stack, tenant_id: str, count: int) -> list[dict[str, Any]]:
    """The tenant's ``invoice.posted`` envelopes, read from the start of the topic until
    ``count`` arrived."""
    topic = f"{stack.topic_prefix}invoice.posted"
    assigned = await _partitions(stack.kafka, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)

        async def all_read() -> bool | Pending:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["tenant_id"] == tenant_id:
                        found.append(envelope)
            return len(found) >= count or Pending(f"{len(found)} of {count} events")

        await wait_for(all_read, 60, "the invoice.posted events", interval=0.05)
    finally:
        await consumer.stop()
    return found


async def test_twenty_concurrent_posts_take_numbers_1_to_20(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    async with stack.client(tenant.key) as api:
        companies = [
            ok(
                await api.post(
                    "/v1/companies",
                    json={"name": f"Company {i}", "tax_rate": "0.19", "external_ref": f"E2E-{i}"},
                ),
                201,
            )["id"]
            for i in range(DRAFTS)
        ]
        for company_id in companies:
            ok(
                await api.post(
                    "/v1/contracts",
                    json={
                        "company_id": company_id,
                        "name": "Managed servers",
                        "start_date": "2024-01-01",
                        "currency": "EUR",
                        "services": [
                            {"service_code": "SRV", "name": "Managed server", "unit_price": "12.50"}
                        ],
                    },
                ),
                201,
            )
        await _usage_company(api, stack, tenant, companies[0])
        run = ok(await api.post("/v1/billing-runs", json={"period": PERIOD}), 201)
        assert run["invoices"] == DRAFTS
        drafts = await get_all(api, "/v1/invoices", period=PERIOD, status="draft")
        assert len(drafts) == DRAFTS

        ok(await api.put("/v1/seller-profile", json={"name": "E2E MSP", "payment_terms_days": 14}))
        answers = await asyncio.gather(*(api.post(f"/v1/invoices/{d['id']}/post") for d in drafts))

        posted = [ok(answer) for answer in answers]
        assert sorted(p["number"] for p in posted) == list(range(1, DRAFTS + 1))
        # Only the first company has usage; a zero total is paid at posting.
        assert sorted(p["status"] for p in posted) == ["paid"] * (DRAFTS - 1) + ["posted"]
        rows = await stack.fetch(
            "SELECT last_number FROM invoicing.number_sequences WHERE tenant_id = $1", tenant.id
        )
        assert rows[0]["last_number"] == DRAFTS
        again = await asyncio.gather(
            *(api.post(f"/v1/invoices/{d['id']}/post") for d in drafts[:5])
        )
        assert {a.status_code for a in again} == {409}

        events = await _posted_events(stack, tenant.id, DRAFTS)
        shown = {p["id"]: ok(await api.get(f"/v1/invoices/{p['id']}")) for p in posted}

    assert len(events) == DRAFTS
    assert {e["type"] for e in events} == {"invoice.posted"}
    assert len({e["id"] for e in events}) == DRAFTS
    by_id = {e["data"]["invoice"]["id"]: e["data"]["invoice"] for e in events}
    assert by_id == shown
    with_usage = next(i for i in by_id.values() if i["company_id"] == companies[0])
    [line] = with_usage["lines"]
    # 4 servers every day at 12.50: 50.00, tax 19 %: 9.50.
    assert (line["service_code"], line["quantity"], line["amount"]) == ("SRV", "4.0000", "50.00")
    assert line["sources"] == [{"module": MODULE, "metric": METRIC, "quantity": "4.0000"}]
    assert (with_usage["subtotal"], with_usage["tax"], with_usage["total"]) == (
        "50.00",
        "9.50",
        "59.50",
    )
    assert with_usage["customer"] == {
        "company_id": companies[0],
        "name": "Company 0",
        "external_ref": "E2E-0",
    }
    assert Decimal(with_usage["balance"]) == Decimal(with_usage["total"])
    assert all(i["issued_on"] and i["number"] for i in by_id.values())
