"""Receivables on the real stack (four service processes, Kafka, PostgreSQL): post, pay,
reverse, a late correction posted as a credit note and applied automatically, a refund and
the aging report; a ledger folded from the events read back from Kafka, and another folded
from the webhooks a local receiver got while invoicing (which delivers them) was killed with
``kill -9`` halfway through the month, give every document the balance and status the API
shows."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.invoicing.webhooks import signing
from tests.support.kafka import _partitions
from tests.support.polling import Pending, wait_for
from tests.support.scenario import get_all, ok
from tests.support.stack import Stack, Tenant
from tests.support.webhook_receiver import Received, receiver

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 90.0
_LAST_MONTH_END = date.today().replace(day=1) - timedelta(days=1)
PERIOD = _LAST_MONTH_END.strftime("%Y-%m")
FIRST = _LAST_MONTH_END.replace(day=1)
DAYS = _LAST_MONTH_END.day
MODULE, METRIC, ORG = "datto_rmm", "servers", "rmm-recv-1"
TYPES = (
    "invoice.posted",
    "invoice.paid",
    "invoice.voided",
    "payment.recorded",
    "payment.reversed",
    "credit_note.applied",
    "credit_note.refunded",
)


async def _servers(api: httpx.AsyncClient, company_id: str | None, per_day: int) -> None:
    """``per_day`` servers every day of the month, until the unit table shows them."""
    records = [
        {
            "module": MODULE,
            "org_id": ORG,
            "org_name": "Receivables servers",
            "metric": METRIC,
            "date": (FIRST + timedelta(days=i)).isoformat(),
            "quantity": str(per_day),
        }
        for i in range(DAYS)
    ]
    ok(await api.post("/v1/usage", json={"records": records}))
    if company_id is None:
        return

    async def arrived() -> bool | Pending:
        rows = await get_all(
            api,
            "/v1/usage",
            company_id=company_id,
            **{"from": FIRST.isoformat(), "to": _LAST_MONTH_END.isoformat()},
        )
        counts = sorted({Decimal(r["quantity"]) for r in rows})
        return (len(rows) == DAYS and counts == [Decimal(per_day)]) or Pending(
            f"{len(rows)} unit rows with {counts}"
        )

    await wait_for(arrived, SETTLE_SECONDS, f"{per_day} servers a day in the unit table")


async def _company(api: httpx.AsyncClient, stack: Stack, tenant: Tenant) -> str:
    company = ok(
        await api.post("/v1/companies", json={"name": "Receivables Ltd", "tax_rate": "0.19"}), 201
    )["id"]
    ok(
        await api.put(
            f"/v1/modules/{MODULE}/billing", json={"enabled": True, "effective_from": "2020-01-01"}
        )
    )
    ok(await api.put(f"/v1/service-mappings/{MODULE}/{METRIC}", json={"service_codes": ["SRV"]}))
    await _servers(api, None, 4)

    async def org_visible() -> bool:
        return any(o["org_id"] == ORG for o in await get_all(api, "/v1/module-orgs"))

    await wait_for(org_visible, SETTLE_SECONDS, "the module org")
    ok(await api.put(f"/v1/module-orgs/{MODULE}/{ORG}/mapping", json={"company_id": company}))
    ok(
        await api.post(
            "/v1/contracts",
            json={
                "company_id": company,
                "name": "Managed servers",
                "start_date": "2024-01-01",
                "currency": "EUR",
                "services": [{"service_code": "SRV", "name": "Server", "unit_price": "12.50"}],
            },
        ),
        201,
    )

    async def billed() -> bool | Pending:
        replica = await stack.fetch(
            "SELECT count(*) AS n FROM invoicing.module_billing WHERE tenant_id = $1 AND enabled",
            tenant.id,
        )
        return replica[0]["n"] == 1 or Pending("module billing replica")

    await wait_for(billed, SETTLE_SECONDS, "the module billing replica")
    await _servers(api, company, 4)
    return str(company)


async def _events(stack: Stack, tenant_id: str, count: int) -> list[dict[str, Any]]:
    """The tenant's receivables envelopes from every topic, each once, read until ``count``
    arrived. Publishing is at least once: a relay killed between publishing and deleting its
    outbox rows publishes them again, and readers recognise the event by its id."""
    assigned = [
        p for t in TYPES for p in await _partitions(stack.kafka, f"{stack.topic_prefix}{t}")
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
    await consumer.start()
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)

        async def all_read() -> bool | Pending:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["tenant_id"] == tenant_id and envelope["id"] not in seen:
                        seen.add(envelope["id"])
                        found.append(envelope)
            return len(found) >= count or Pending(f"{len(found)} of {count} events")

        await wait_for(all_read, 60, "the receivables events", interval=0.05)
    finally:
        await consumer.stop()
    return found


def _ledger(events: list[dict[str, Any]]) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        data = event["data"]
        kind = event["type"]
        if kind == "invoice.posted":
            balances[data["invoice"]["id"]] += Decimal(data["invoice"]["total"])
        elif kind in ("payment.recorded", "credit_note.applied"):
            balances[data["invoice_id"]] -= Decimal(data["amount"])
        elif kind in ("payment.reversed", "credit_note.refunded"):
            balances[data["invoice_id"]] += Decimal(data["amount"])
        if kind == "credit_note.applied":
            balances[data["credit_note_id"]] += Decimal(data["amount"])
        if kind == "invoice.voided":
            balances[data["invoice_id"]] = Decimal(0)
    return dict(balances)


def _statuses(events: list[dict[str, Any]]) -> dict[str, str]:
    """Each document's status after the last event about it, in the order of the events."""
    status: dict[str, str] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "invoice.posted":
            status[data["invoice"]["id"]] = data["status"]
        else:
            status[data["invoice_id"]] = data["status"]
        if event["type"] == "credit_note.applied":
            status[data["credit_note_id"]] = data["credit_note_status"]
    return status


def _delivered(requests: list[Received], secret: str) -> list[dict[str, Any]]:
    """The envelopes the receiver got, each once (the first arrival), signatures checked."""
    seen: set[str] = set()
    envelopes = []
    for request in requests:
        headers = request.headers
        assert signing.verify(
            secret,
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            request.body,
            headers["webhook-signature"],
        )
        if headers["webhook-id"] not in seen:
            seen.add(headers["webhook-id"])
            envelopes.append(request.json)
    return envelopes


async def test_a_month_of_receivables_rebuilds_from_the_events(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    with receiver() as hook:
        async with stack.client(tenant.key) as api:
            webhook = ok(
                await api.post(
                    "/v1/webhooks", json={"url": f"{hook.url}/hook", "events": list(TYPES)}
                ),
                201,
            )
            shown, aging, events = await _month(api, stack, tenant)
            hooked = _delivered(await hook.wait_for(10, timeout=120), webhook["secret"])

    # The receiver may have got one more than 10 requests (a redelivery after the kill).
    assert len(hooked) == 10, [e["type"] for e in hooked]
    assert {e["id"] for e in hooked} == {e["id"] for e in events}
    assert _ledger(hooked) == {k: Decimal(v["balance"]) for k, v in shown.items()}
    assert _statuses(hooked) == {k: v["status"] for k, v in shown.items()}
    _check_month(shown, aging, events)


async def _month(
    api: httpx.AsyncClient, stack: Stack, tenant: Tenant
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    """Post, pay, reverse, correct, refund; invoicing is killed and restarted halfway."""
    company = await _company(api, stack, tenant)
    ok(await api.put("/v1/seller-profile", json={"name": "E2E MSP", "payment_terms_days": 14}))
    ok(await api.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    [draft] = await get_all(api, "/v1/invoices", period=PERIOD, company_id=company)
    invoice = ok(await api.post(f"/v1/invoices/{draft['id']}/post"))
    # 4 servers at 12.50: 50.00, tax 19 %: 59.50.
    assert (invoice["total"], invoice["status"]) == ("59.50", "posted")

    pay = f"/v1/invoices/{invoice['id']}/payments"
    first = ok(await api.post(pay, json={"amount": "30.00", "reference": "B-1"}), 201)
    await stack.kill("invoicing")
    await stack.start("invoicing")
    second = ok(await api.post(pay, json={"amount": "29.50", "reference": "B-2"}), 201)
    assert second["invoice"]["status"] == "paid"
    reversal = {"reason": "Returned by the bank"}
    undone = ok(await api.post(f"{pay}/{second['id']}/reversal", json=reversal), 201)
    assert (undone["invoice"]["status"], undone["invoice"]["balance"]) == ("posted", "29.50")

    # Corrected down to 2 servers: a credit note of -25.00 - 4.75 = -29.75; posting it
    # applies 29.50 to the invoice and leaves 0.25 unapplied.
    await _servers(api, company, 2)
    ok(await api.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    [note] = await get_all(api, "/v1/invoices", period=PERIOD, kind="credit_note")
    credit = ok(await api.post(f"/v1/invoices/{note['id']}/post"))
    assert (credit["total"], credit["balance"], credit["unapplied"]) == (
        "-29.75",
        "-0.25",
        "0.25",
    )
    refund = {"amount": "0.10", "reference": "SEPA-1"}
    ok(await api.post(f"/v1/invoices/{credit['id']}/refunds", json=refund), 201)
    ok(await api.post(f"{pay}/{first['id']}/reversal", json=reversal), 201)

    shown = {d["id"]: ok(await api.get(f"/v1/invoices/{d['id']}")) for d in (invoice, credit)}
    as_of = (date.today() + timedelta(days=45)).isoformat()
    aging = ok(await api.get("/v1/receivables/aging", params={"as_of": as_of}))
    # 2 posts, 2 payments, 2 paid, 2 reversals, 1 application, 1 refund.
    events = await _events(stack, tenant.id, 10)
    return shown, aging, events


def _check_month(
    shown: dict[str, dict[str, Any]], aging: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    invoice, credit = shown.values()
    company = invoice["company_id"]
    assert (shown[invoice["id"]]["balance"], shown[invoice["id"]]["status"]) == ("30.00", "posted")
    assert (shown[credit["id"]]["balance"], shown[credit["id"]]["unapplied"]) == ("-0.15", "0.15")
    [row] = aging["items"]
    assert (row["company_id"], row["days_31_60"], row["total"], row["unapplied_credit"]) == (
        company,
        "30.00",
        "30.00",
        "0.15",
    )
    assert sorted(e["type"] for e in events) == sorted(
        ["invoice.posted"] * 2
        + ["payment.recorded"] * 2
        + ["invoice.paid"] * 2
        + ["payment.reversed"] * 2
        + ["credit_note.applied", "credit_note.refunded"]
    )
    assert _ledger(events) == {k: Decimal(v["balance"]) for k, v in shown.items()}
    assert all({"status", "balance"} <= e["data"].keys() for e in events)
