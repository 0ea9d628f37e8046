"""Webhooks on the real stack: posting invoices delivers their ``invoice.posted`` envelopes,
signed per Standard Webhooks, to a local receiver; a ``kill -9`` of invoicing right after a
post loses nothing (the delivery is driven from Kafka and queued in the database)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from services.invoicing.webhooks import signing
from shared.event_contract import committed_schema
from tests.support.polling import Pending, wait_for
from tests.support.scenario import get_all, ok
from tests.support.stack import Stack
from tests.support.webhook_receiver import receiver

pytestmark = pytest.mark.e2e

_LAST_MONTH_END = date.today().replace(day=1) - timedelta(days=1)
PERIOD = _LAST_MONTH_END.strftime("%Y-%m")


async def _drafts(api: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    for i in range(count):
        company = ok(
            await api.post("/v1/companies", json={"name": f"Hooked {i}", "tax_rate": "0.19"}), 201
        )
        ok(
            await api.post(
                "/v1/contracts",
                json={
                    "company_id": company["id"],
                    "name": "Managed servers",
                    "start_date": "2024-01-01",
                    "currency": "EUR",
                    "services": [{"service_code": "SRV", "name": "Server", "unit_price": "9.00"}],
                },
            ),
            201,
        )
    run = ok(await api.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    assert run["invoices"] == count
    return await get_all(api, "/v1/invoices", period=PERIOD, status="draft")


async def test_posted_invoices_arrive_signed_even_across_a_crash(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    with receiver() as hook:
        async with stack.client(tenant.key) as api:
            webhook = ok(
                await api.post(
                    "/v1/webhooks", json={"url": f"{hook.url}/hook", "events": ["invoice.posted"]}
                ),
                201,
            )
            first, second = await _drafts(api, 2)
            seller = {"name": "E2E MSP", "payment_terms_days": 14}
            ok(await api.put("/v1/seller-profile", json=seller))
            posted_first = ok(await api.post(f"/v1/invoices/{first['id']}/post"))
            [arrived] = await hook.wait_for(1, timeout=90)

            posted_second = ok(await api.post(f"/v1/invoices/{second['id']}/post"))
            await stack.kill("invoicing")
            await stack.start("invoicing")
            await hook.wait_for(2, timeout=120)

            async def delivered() -> list[dict[str, Any]] | Pending:
                items = await get_all(api, f"/v1/webhooks/{webhook['id']}/deliveries")
                done = [d for d in items if d["status"] == "succeeded"]
                return done if len(done) == 2 else Pending(str(items))

            log = await wait_for(delivered, 60, "both deliveries logged as succeeded")
            shown = {
                p["id"]: ok(await api.get(f"/v1/invoices/{p['id']}"))
                for p in (posted_first, posted_second)
            }

    schema = committed_schema("invoice.posted", 1)
    assert schema is not None
    by_invoice: dict[str, dict[str, Any]] = {}
    for request in hook.at("/hook"):
        headers = request.headers
        assert signing.verify(
            webhook["secret"],
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            request.body,
            headers["webhook-signature"],
        )
        envelope = json.loads(request.body)
        jsonschema.validate(envelope, schema)
        assert envelope["id"] == headers["webhook-id"]
        assert envelope["tenant_id"] == tenant.id
        by_invoice[envelope["data"]["invoice"]["id"]] = envelope
    assert by_invoice.keys() == shown.keys()
    for invoice_id, envelope in by_invoice.items():
        assert envelope["data"]["invoice"]["number"] == shown[invoice_id]["number"]
        assert envelope["data"]["invoice"]["total"] == shown[invoice_id]["total"]
    assert arrived.headers["webhook-id"] == by_invoice[posted_first["id"]]["id"]
    assert {d["event_id"] for d in log} == {e["id"] for e in by_invoice.values()}
