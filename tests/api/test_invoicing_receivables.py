"""Receivables through the API (PRODUCT.md section 12): credit notes applied and refunded,
automatic application at posting, payment reversals and date checks, zero totals paid at
posting, the seller profile posting needs, ``overdue``, the aging report, future billing
runs, the events with their status and balance, and a ledger rebuilt from those events.

The base case: 5 agents every day at 20.00, tax 20 %: 100.00 + 20.00 = 120.00 a month. Usage
corrected down to 4 agents makes a credit note of -20.00 - 4.00 = -24.00."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from services.invoicing.documents import posting
from services.invoicing.documents.parties import SellerDefaults
from shared.bus.base import Message
from shared.events import decode, topic_for
from tests.api.test_invoicing_support import (
    TODAY,
    InvoicingApi,
    day,
    latest_month,
    ok,
    service,
    steps,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PERIOD = latest_month(31)
EARLIER = latest_month(30)
MODULE, METRIC = "datto_bcdr", "protected_agents"
RECEIVABLE_EVENTS = (
    "invoice.posted",
    "invoice.voided",
    "invoice.paid",
    "payment.recorded",
    "payment.reversed",
    "credit_note.applied",
    "credit_note.refunded",
)


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _customer(billing: InvoicingApi, name: str = "Contoso Ltd", price: str = "20") -> str:
    """5 agents every day of both periods, billed from the first of them on."""
    company = await billing.company(name, tax_rate="0.2")
    await billing.feed(MODULE, METRIC, "AGENT")
    first = min(day(EARLIER, 1), day(PERIOD, 1))
    last = max(day(EARLIER, 30), day(PERIOD, 31))
    await billing.usage(company, MODULE, METRIC, first, steps(((last - first).days + 1, 5)))
    await billing.contract(company, [service("AGENT", price)], start=first)
    return company


async def _posted(billing: InvoicingApi, company: str, period: str = PERIOD) -> dict[str, Any]:
    await billing.run(period)
    return await billing.post((await billing.invoice_of(company, period))["id"])


async def _credit_note(billing: InvoicingApi, company: str) -> dict[str, Any]:
    """The PERIOD's usage corrected down to 4 agents: a credit note of -24.00, as a draft."""
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((31, 4)))
    await billing.run(PERIOD)
    return await billing.invoice_of(company, PERIOD, kind="credit_note")


async def _pay(
    billing: InvoicingApi, invoice_id: str, amount: str, status: int = 201, **fields: Any
) -> Any:
    body = {"amount": amount, **fields}
    return ok(await billing.client.post(f"/v1/invoices/{invoice_id}/payments", json=body), status)


async def _apply(
    billing: InvoicingApi, credit_id: str, invoice_id: str, amount: str, status: int = 201
) -> Any:
    body = {"invoice_id": invoice_id, "amount": amount}
    return ok(
        await billing.client.post(f"/v1/invoices/{credit_id}/applications", json=body), status
    )


async def _refund(
    billing: InvoicingApi, credit_id: str, amount: str, status: int = 201, **fields: Any
) -> Any:
    body = {"amount": amount, **fields}
    return ok(await billing.client.post(f"/v1/invoices/{credit_id}/refunds", json=body), status)


async def _reverse(
    billing: InvoicingApi, invoice_id: str, payment_id: str, status: int = 201, **body: Any
) -> Any:
    path = f"/v1/invoices/{invoice_id}/payments/{payment_id}/reversal"
    return ok(await billing.client.post(path, json=body or {"reason": "bounced"}), status)


def _open(doc: dict[str, Any]) -> tuple[str, str, str | None]:
    return doc["status"], doc["balance"], doc.get("unapplied")


async def test_posting_needs_a_seller_profile_and_takes_no_number_without_one(
    billing: InvoicingApi,
) -> None:
    company = await _customer(billing)
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)

    refused = ok(await billing.client.post(f"/v1/invoices/{draft['id']}/post"), 409)

    assert refused["type"].endswith("/seller-profile-required")
    assert "PUT /v1/seller-profile" in refused["detail"]
    assert await billing.invoice(draft["id"]) == draft
    await billing.seller(name="Northwind IT", tax_id="DE123456789")
    posted = await billing.post(draft["id"])
    assert (posted["number"], posted["seller"]["name"]) == (1, "Northwind IT")


async def test_a_zero_total_is_paid_at_posting(billing: InvoicingApi) -> None:
    company = await _customer(billing, price="0")
    posted = await _posted(billing, company)
    assert (posted["total"], posted["balance"], posted["status"]) == ("0.00", "0.00", "paid")
    assert posted["overdue"] is False
    assert "paid" in (await _pay(billing, posted["id"], "1", 409))["detail"]


async def test_payment_dates_lie_between_posting_and_today(billing: InvoicingApi) -> None:
    invoice = await _posted(billing, await _customer(billing))
    tomorrow, yesterday = TODAY + timedelta(days=1), TODAY - timedelta(days=1)

    for when in (tomorrow, yesterday):
        problem = await _pay(billing, invoice["id"], "10", 422, received_on=when.isoformat())
        assert problem["errors"][0]["loc"] == ["body", "received_on"]
    assert (
        "after today"
        in (await _pay(billing, invoice["id"], "1", 422, received_on="2030-01-01"))["detail"]
    )
    assert (await billing.invoice(invoice["id"]))["balance"] == "120.00"
    paid = await _pay(billing, invoice["id"], "10", received_on=TODAY.isoformat())
    assert paid["invoice"]["balance"] == "110.00"


async def test_a_reversal_reopens_a_paid_invoice_and_keeps_the_payment(
    billing: InvoicingApi,
) -> None:
    invoice = await _posted(billing, await _customer(billing))
    first = await _pay(billing, invoice["id"], "20", reference="BANK-1")
    last = await _pay(billing, invoice["id"], "100", reference="BANK-2")
    assert _open(last["invoice"]) == ("paid", "0.00", None)

    reversed_ = await _reverse(billing, invoice["id"], last["id"], reason="Chargeback")

    assert (reversed_["reversed_on"], reversed_["reversal_reason"]) == (
        TODAY.isoformat(),
        "Chargeback",
    )
    assert _open(reversed_["invoice"]) == ("posted", "100.00", None)
    assert _open(await billing.invoice(invoice["id"])) == ("posted", "100.00", None)
    listed = ok(await billing.client.get(f"/v1/invoices/{invoice['id']}/payments"))
    assert [(p["amount"], p["reversed_on"]) for p in listed["items"]] == [
        ("20.00", None),
        ("100.00", TODAY.isoformat()),
    ]
    assert (listed["paid"], listed["balance"]) == ("20.00", "100.00")

    again = await _reverse(billing, invoice["id"], last["id"], 409)
    assert "already reversed" in again["detail"]
    assert (await _reverse(billing, invoice["id"], "no-such-payment", 404))["status"] == 404
    assert (await _reverse(billing, invoice["id"], first["id"], 422, reason=""))["errors"]
    assert (await billing.invoice(invoice["id"]))["balance"] == "100.00"
    # The same reference may not be paid again; a new payment settles the invoice again.
    assert _open((await _pay(billing, invoice["id"], "100", reference="BANK-3"))["invoice"]) == (
        "paid",
        "0.00",
        None,
    )


async def test_posting_a_credit_note_applies_it_to_the_invoice_it_corrects(
    billing: InvoicingApi,
) -> None:
    company = await _customer(billing)
    invoice = await _posted(billing, company)
    await _pay(billing, invoice["id"], "110")
    credit = await _credit_note(billing, company)
    assert (credit["total"], credit["unapplied"]) == ("-24.00", "24.00")

    posted = await billing.post(credit["id"])

    # Only 10.00 was open on the invoice: the rest of the credit stays unapplied.
    assert _open(posted) == ("posted", "-14.00", "14.00")
    assert _open(await billing.invoice(invoice["id"])) == ("paid", "0.00", None)
    assert (await _apply(billing, credit["id"], invoice["id"], "1", 409))["type"].endswith(
        "/conflict"
    )


async def test_without_auto_apply_a_credit_note_keeps_its_credit(billing: InvoicingApi) -> None:
    company = await _customer(billing)
    invoice = await _posted(billing, company)
    credit = await _credit_note(billing, company)
    settings = {"auto_apply_credit_notes": False}
    assert (
        ok(await billing.api.client.patch("/v1/settings", json=settings))["auto_apply_credit_notes"]
        is False
    )

    await billing.post(credit["id"])

    assert _open(await billing.invoice(credit["id"])) == ("posted", "-24.00", "24.00")
    assert _open(await billing.invoice(invoice["id"])) == ("posted", "120.00", None)


async def test_credit_is_applied_and_refunded_within_what_is_open(
    billing: InvoicingApi,
) -> None:
    company = await _customer(billing)
    other = await _customer(billing, "Fabrikam GmbH")
    corrected = await _posted(billing, company)
    await _pay(billing, corrected["id"], "120")
    earlier = await _posted(billing, company, EARLIER)
    foreign = await _posted(billing, other)
    credit = await billing.post((await _credit_note(billing, company))["id"])
    assert _open(credit) == ("posted", "-24.00", "24.00")
    await _pay(billing, earlier["id"], "110")

    refusals = [
        (await _apply(billing, credit["id"], earlier["id"], "24.01", 409), "credit-exceeds"),
        (await _apply(billing, credit["id"], earlier["id"], "10.01", 409), "credit-exceeds"),
        (await _apply(billing, credit["id"], foreign["id"], "1", 409), "conflict"),
        (await _apply(billing, credit["id"], corrected["id"], "1", 409), "conflict"),
        (await _apply(billing, earlier["id"], corrected["id"], "1", 409), "conflict"),
        (await _apply(billing, credit["id"], earlier["id"], "-1", 422), "validation-error"),
        (await _apply(billing, credit["id"], earlier["id"], "1.005", 422), "validation-error"),
        (await _apply(billing, credit["id"], "no-such-invoice", "1", 404), "not-found"),
        (await _refund(billing, credit["id"], "24.01", 409), "credit-exceeds"),
        (await _refund(billing, credit["id"], "1", 422, paid_on="2030-01-01"), "validation"),
    ]
    assert [r["type"].rsplit("/", 1)[1].startswith(want) for r, want in refusals] == [True] * 10
    assert "24.00" in refusals[0][0]["detail"] and "10.00" in refusals[1][0]["detail"]
    assert _open(await billing.invoice(credit["id"])) == ("posted", "-24.00", "24.00")
    assert _open(await billing.invoice(earlier["id"])) == ("posted", "10.00", None)

    applied = await _apply(billing, credit["id"], earlier["id"], "10")

    assert (applied["amount"], applied["automatic"], applied["applied_on"]) == (
        "10.00",
        False,
        TODAY.isoformat(),
    )
    assert _open(applied["invoice"]) == ("paid", "0.00", None)
    assert _open(applied["credit_note"]) == ("posted", "-14.00", "14.00")
    refund = await _refund(billing, credit["id"], "14", reference="SEPA-7")
    assert (refund["amount"], refund["paid_on"], refund["reference"]) == (
        "14.00",
        TODAY.isoformat(),
        "SEPA-7",
    )
    assert _open(refund["credit_note"]) == ("paid", "0.00", "0.00")
    assert (await _refund(billing, credit["id"], "0.01", 409))["type"].endswith(
        "/credit-exceeds-open-amount"
    )
    async with await billing.api.new_tenant() as stranger:
        body = {"invoice_id": earlier["id"], "amount": "1"}
        answer = await stranger.post(f"/v1/invoices/{credit['id']}/applications", json=body)
        assert answer.status_code == 404
        answer = await stranger.post(f"/v1/invoices/{credit['id']}/refunds", json={"amount": "1"})
        assert answer.status_code == 404


async def _post_back_then(billing: InvoicingApi, draft_id: str, days_ago: int) -> None:
    """Posts as if it happened ``days_ago`` days ago: due 14 days after that."""
    runtime = billing.api.system.runtimes["invoicing"]
    posted_at = datetime.now(UTC) - timedelta(days=days_ago)
    async with runtime.transaction() as session:
        await posting.post_invoice(
            session,
            runtime.outbox,
            billing.api.tenant_id,
            draft_id,
            timezone="UTC",
            defaults=SellerDefaults("Test MSP", 14),
            clock=lambda: posted_at,
        )


async def test_overdue_invoices_and_the_aging_report(billing: InvoicingApi) -> None:
    company = await _customer(billing)
    other = await _customer(billing, "Fabrikam GmbH")
    for period in (EARLIER, PERIOD):
        await billing.run(period)
    # Contoso: EARLIER posted 120 days ago (106 past due), PERIOD 45 days ago (31 past due).
    await _post_back_then(billing, (await billing.invoice_of(company, EARLIER))["id"], 120)
    old = await billing.invoice_of(company, EARLIER)
    await _post_back_then(billing, (await billing.invoice_of(company, PERIOD))["id"], 45)
    late = await billing.invoice_of(company, PERIOD)
    fresh = await billing.post((await billing.invoice_of(other, PERIOD))["id"])
    await _pay(billing, late["id"], "20", received_on=(TODAY - timedelta(days=40)).isoformat())

    assert (old["overdue"], late["overdue"], fresh["overdue"]) == (True, True, False)
    assert old["due_on"] == (TODAY - timedelta(days=106)).isoformat()
    overdue = ok(await billing.client.get("/v1/invoices", params={"overdue": "true"}))["items"]
    assert sorted(i["id"] for i in overdue) == sorted([old["id"], late["id"]])
    assert all(i["overdue"] for i in overdue)
    current = ok(await billing.client.get("/v1/invoices", params={"overdue": "false"}))["items"]
    assert [i["id"] for i in current if i["status"] != "draft"] == [fresh["id"]]

    today = ok(await billing.client.get("/v1/receivables/aging"))
    assert today["as_of"] == TODAY.isoformat()
    rows = {r["company_name"]: r for r in today["items"]}
    assert _buckets(rows["Contoso Ltd"]) == ("0.00", "0.00", "100.00", "0.00", "120.00", "220.00")
    assert _buckets(rows["Fabrikam GmbH"]) == ("120.00", "0.00", "0.00", "0.00", "0.00", "120.00")
    assert rows["Contoso Ltd"]["currency"] == "EUR"

    # 42 days ago: the payment (40 days ago) was not yet received, PERIOD's invoice not yet due.
    back = await _aging(billing, TODAY - timedelta(days=42))
    assert [r["company_name"] for r in back["items"]] == ["Contoso Ltd"]
    assert _buckets(back["items"][0]) == ("120.00", "0.00", "0.00", "120.00", "0.00", "240.00")
    before_all = await _aging(billing, TODAY - timedelta(days=121))
    assert before_all["items"] == []
    bad = ok(await billing.client.get("/v1/receivables/aging", params={"as_of": "2026-13-01"}), 422)
    assert bad["errors"][0]["loc"] == ["query", "as_of"]


def _buckets(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        row[k]
        for k in ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "total")
    )


async def _aging(billing: InvoicingApi, as_of: date) -> Any:
    return ok(
        await billing.client.get("/v1/receivables/aging", params={"as_of": as_of.isoformat()})
    )


async def test_a_billing_run_for_a_month_not_yet_begun_is_refused(billing: InvoicingApi) -> None:
    await _customer(billing)
    following = (TODAY.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")

    refused = ok(await billing.client.post("/v1/billing-runs", json={"period": following}), 422)

    assert refused["errors"][0]["loc"] == ["body", "period"]
    assert "has not begun" in refused["detail"]
    assert ok(await billing.client.get("/v1/invoices", params={"period": following}))["items"] == []
    this_month = TODAY.strftime("%Y-%m")
    assert (await billing.run(this_month))["period"] == this_month


@contextlib.asynccontextmanager
async def _collected(billing: InvoicingApi) -> AsyncIterator[list[dict[str, Any]]]:
    """Every receivables event the invoicing service publishes while inside, as a downstream
    consumer reads it from the bus (envelopes as JSON values)."""
    runtime = billing.api.system.runtimes["invoicing"]
    bus = billing.api.system.bus
    topics = [topic_for(runtime.settings.topic_prefix, t) for t in RECEIVABLE_EVENTS]
    found: list[dict[str, Any]] = []

    async def handle(batch: Sequence[Message]) -> None:
        for message in batch:
            head, event = decode(message.value)
            found.append({"type": head.type, "data": event.model_dump(mode="json")})

    consumer = asyncio.create_task(bus.consume("ledger-test", topics, handle))
    try:
        yield found
        await billing.api.settle()
        for _ in range(500):
            if bus.caught_up("ledger-test", topics):
                break
            await asyncio.sleep(0.01)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer


def _ledger(events: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Every document's balance from the events' amounts alone (in any order)."""
    moved: dict[str, Decimal] = defaultdict(Decimal)
    voided: set[str] = set()
    for event in events:
        data = event["data"]
        match event["type"]:
            case "invoice.posted":
                moved[data["invoice"]["id"]] += Decimal(data["invoice"]["total"])
            case "payment.recorded":
                moved[data["invoice_id"]] -= Decimal(data["amount"])
            case "payment.reversed":
                moved[data["invoice_id"]] += Decimal(data["amount"])
            case "credit_note.applied":
                moved[data["invoice_id"]] -= Decimal(data["amount"])
                moved[data["credit_note_id"]] += Decimal(data["amount"])
            case "credit_note.refunded":
                moved[data["invoice_id"]] += Decimal(data["amount"])
            case "invoice.voided":
                voided.add(data["invoice_id"])
    return {k: Decimal(0) if k in voided else v for k, v in moved.items()}


async def test_a_ledger_from_the_events_alone_has_the_balances_the_api_shows(
    billing: InvoicingApi,
) -> None:
    company = await _customer(billing)
    other = await _customer(billing, "Fabrikam GmbH")
    async with _collected(billing) as events:
        invoice = await _posted(billing, company)
        earlier = await _posted(billing, company, EARLIER)
        voided = await _posted(billing, other)
        ok(await billing.client.post(f"/v1/invoices/{voided['id']}/void"))
        first = await _pay(billing, invoice["id"], "100")
        await _pay(billing, earlier["id"], "120")
        second = await _pay(billing, invoice["id"], "20")
        await _reverse(billing, invoice["id"], second["id"])
        await _reverse(billing, invoice["id"], first["id"])
        await _pay(billing, invoice["id"], "110")
        credit = await billing.post((await _credit_note(billing, company))["id"])
        await _refund(billing, credit["id"], "0.50")

    shown = {d["id"]: await billing.invoice(d["id"]) for d in (invoice, earlier, voided, credit)}
    ledger = _ledger(events)
    assert ledger == {k: Decimal(v["balance"]) for k, v in shown.items()}
    assert [ledger[d["id"]] for d in (invoice, earlier, voided, credit)] == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("-13.50"),
    ]
    assert {e["type"] for e in events} == set(RECEIVABLE_EVENTS)
    for event in events:  # each carries its document's resulting status and balance
        assert event["data"]["status"] in ("posted", "paid", "void"), event
        assert Decimal(event["data"]["balance"]).as_tuple().exponent == -2, event
    [refunded] = [e["data"] for e in events if e["type"] == "credit_note.refunded"]
    assert (refunded["status"], refunded["balance"], refunded["unapplied"]) == (
        "posted",
        "-13.50",
        "13.50",
    )
    [applied] = [e["data"] for e in events if e["type"] == "credit_note.applied"]
    assert (applied["invoice_id"], applied["amount"], applied["automatic"]) == (
        invoice["id"],
        "10.00",
        True,
    )
    assert (applied["status"], applied["balance"], applied["unapplied"]) == (
        "paid",
        "0.00",
        "14.00",
    )
    paid = sorted(e["data"]["invoice_id"] for e in events if e["type"] == "invoice.paid")
    assert paid == sorted([earlier["id"], invoice["id"], invoice["id"]])


async def _key(api: EmbeddedApi, role: str) -> httpx.AsyncClient:
    created = ok(await api.client.post("/v1/api-keys", json={"name": role, "role": role}), 201)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {created['key']}"},
    )


async def test_billing_keys_settle_and_viewer_keys_only_read(billing: InvoicingApi) -> None:
    company = await _customer(billing)
    invoice = await _posted(billing, company)
    writes = [
        (f"/v1/invoices/{invoice['id']}/payments/x/reversal", {"reason": "x"}),
        (f"/v1/invoices/{invoice['id']}/applications", {"invoice_id": "x", "amount": "1"}),
        (f"/v1/invoices/{invoice['id']}/refunds", {"amount": "1"}),
    ]
    async with (
        await _key(billing.api, "viewer") as viewer,
        await _key(billing.api, "billing") as clerk,
    ):
        assert (await viewer.get("/v1/receivables/aging")).status_code == 200
        assert (await viewer.get("/v1/invoices", params={"overdue": "true"})).status_code == 200
        for path, body in writes:
            assert (await viewer.post(path, json=body)).status_code == 403, path
        # Through the gateway to invoicing: the billing key reaches each use case.
        assert [(await clerk.post(path, json=body)).status_code for path, body in writes] == [
            404,
            404,
            409,
        ]
        paid = await clerk.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount": "1"})
        assert paid.status_code == 201
        reversal = await clerk.post(
            f"/v1/invoices/{invoice['id']}/payments/{paid.json()['id']}/reversal",
            json={"reason": "Entered twice"},
        )
        assert reversal.json()["invoice"]["balance"] == "120.00"


async def test_concurrent_applications_never_overdraw_a_credit_note(billing: InvoicingApi) -> None:
    company = await _customer(billing)
    corrected = await _posted(billing, company)
    await _pay(billing, corrected["id"], "120")
    earlier = await _posted(billing, company, EARLIER)
    credit = await billing.post((await _credit_note(billing, company))["id"])
    another = await _customer(billing, "Contoso Ltd")  # same name, other company: 409
    assert another != company

    answers = await asyncio.gather(
        *(
            billing.client.post(
                f"/v1/invoices/{credit['id']}/applications",
                json={"invoice_id": earlier["id"], "amount": "20"},
            )
            for _ in range(2)
        )
    )

    assert sorted(a.status_code for a in answers) == [201, 409]
    assert _open(await billing.invoice(credit["id"])) == ("posted", "-4.00", "4.00")
    assert _open(await billing.invoice(earlier["id"])) == ("posted", "100.00", None)
