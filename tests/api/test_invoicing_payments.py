"""Payments through the API: partial and full payments of posted invoices and adjustments,
``paid`` at a balance of 0, and every refusal (above the balance, drafts, credit notes,
more digits than the currency has, a reference twice)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

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
MODULE, METRIC = "datto_bcdr", "protected_agents"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _posted(billing: InvoicingApi, units: int = 5, currency: str = "EUR") -> dict[str, Any]:
    """5 agents all month at 20.00 (currency units), tax 20 %: 100.00 + 20.00 = 120.00."""
    company = await billing.company(tax_rate="0.2", currency=currency)
    await billing.feed(MODULE, METRIC, "AGENT")
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((31, units)))
    await billing.contract(
        company, [service("AGENT", "20")], start=day(PERIOD, 1), currency=currency
    )
    await billing.run(PERIOD)
    return await billing.post((await billing.invoice_of(company, PERIOD))["id"])


async def _pay(
    billing: InvoicingApi, invoice_id: str, amount: str, status: int = 201, **fields: Any
) -> Any:
    return ok(
        await billing.client.post(
            f"/v1/invoices/{invoice_id}/payments", json={"amount": amount, **fields}
        ),
        status,
    )


async def test_partial_then_full_payment(billing: InvoicingApi) -> None:
    invoice = await _posted(billing)
    assert (invoice["total"], invoice["balance"]) == ("120.00", "120.00")

    first = await _pay(
        billing, invoice["id"], "50", received_on=TODAY.isoformat(), reference="BANK-1"
    )
    assert (first["amount"], first["currency"], first["reference"]) == ("50.00", "EUR", "BANK-1")
    assert (first["invoice"]["balance"], first["invoice"]["status"]) == ("70.00", "posted")

    over = await _pay(billing, invoice["id"], "70.01", 409)
    assert over["type"].endswith("/payment-exceeds-balance")
    assert "70.00" in over["detail"]
    assert (await billing.invoice(invoice["id"]))["balance"] == "70.00"

    last = await _pay(billing, invoice["id"], "70.00", reference="BANK-2")
    assert (last["invoice"]["balance"], last["invoice"]["status"]) == ("0.00", "paid")
    paid = await billing.invoice(invoice["id"])
    assert (paid["status"], paid["balance"], paid["total"]) == ("paid", "0.00", "120.00")

    listed = ok(await billing.client.get(f"/v1/invoices/{invoice['id']}/payments"))
    assert [(p["amount"], p["reference"]) for p in listed["items"]] == [
        ("50.00", "BANK-1"),
        ("70.00", "BANK-2"),
    ]
    assert (listed["paid"], listed["balance"]) == ("120.00", "0.00")
    assert listed["items"][0]["received_on"] == TODAY.isoformat()
    closed = await _pay(billing, invoice["id"], "1", 409)
    assert "paid" in closed["detail"]
    assert ok(await billing.client.post(f"/v1/invoices/{invoice['id']}/void"), 409)


async def test_payments_that_are_refused(billing: InvoicingApi) -> None:
    invoice = await _posted(billing)
    for amount in ("0", "-5"):
        problem = await _pay(billing, invoice["id"], amount, 422)
        assert problem["errors"][0]["loc"] == ["body", "amount"]
    assert (await _pay(billing, invoice["id"], "10.005", 422))["errors"]
    await _pay(billing, invoice["id"], "10", reference="R-1")
    duplicate = await _pay(billing, invoice["id"], "10", 409, reference="R-1")
    assert duplicate["type"].endswith("/duplicate-payment")
    malformed = ok(
        await billing.client.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount": "ten"}),
        422,
    )
    assert malformed["errors"][0]["loc"][:2] == ["body", "amount"]
    assert (await billing.invoice(invoice["id"]))["balance"] == "110.00"

    await billing.run(PERIOD)
    company = invoice["company_id"]
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((31, 4)))
    await billing.run(PERIOD)
    credit = await billing.invoice_of(company, PERIOD, kind="credit_note")
    draft_refused = await _pay(billing, credit["id"], "1", 409)
    assert "credit note" in draft_refused["detail"]
    posted_credit = await billing.post(credit["id"])
    # Applied to the invoice it corrects at posting: nothing of it is left to pay out.
    assert (posted_credit["total"], posted_credit["balance"]) == ("-24.00", "0.00")
    assert (await billing.invoice(invoice["id"]))["balance"] == "86.00"
    assert "credit note" in (await _pay(billing, credit["id"], "1", 409))["detail"]


async def test_a_draft_takes_no_payment_and_an_adjustment_does(billing: InvoicingApi) -> None:
    invoice = await _posted(billing)
    await billing.usage(invoice["company_id"], MODULE, METRIC, day(PERIOD, 1), steps((31, 6)))
    await billing.run(PERIOD)
    adjustment = await billing.invoice_of(invoice["company_id"], PERIOD, kind="adjustment")
    assert adjustment["total"] == "24.00"
    assert "draft" in (await _pay(billing, adjustment["id"], "1", 409))["detail"]

    await billing.post(adjustment["id"])
    paid = await _pay(billing, adjustment["id"], "24.00")
    assert paid["invoice"]["status"] == "paid"
    assert (await billing.invoice(invoice["id"]))["status"] == "posted"


async def test_jpy_payments_are_whole_yen(billing: InvoicingApi) -> None:
    invoice = await _posted(billing, currency="JPY")
    assert invoice["total"] == "120"
    assert (await _pay(billing, invoice["id"], "0.5", 422))["errors"][0]["msg"].startswith(
        "JPY takes at most 0 digits"
    )
    assert (await _pay(billing, invoice["id"], "120"))["invoice"]["balance"] == "0"
