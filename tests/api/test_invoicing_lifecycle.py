"""The invoice lifecycle of PRODUCT.md section 6 through the API: idempotent billing runs,
drafts that follow new data, gapless numbers, immutable posted invoices, correction
documents (adjustments and credit notes) for changes to posted periods, and voiding.

The base case: 10 units a day for the whole 30-day month at 2.00 per unit and day, tax 19 %:
quantity 10.0000, amount 20.00, tax 3.80, total 23.80."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest

from services.invoicing.documents import posting
from services.invoicing.documents.parties import SellerDefaults
from services.invoicing.runs import service as runs
from services.invoicing.runs import writes as run_writes
from shared.events import Event, InvoicePosted
from shared.outbox import Outbox
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    latest_month,
    lines_of,
    ok,
    service,
    steps,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PERIOD = latest_month(30)
MODULE, METRIC = "datto_rmm", "servers"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _company(billing: InvoicingApi, name: str = "Contoso Ltd", units: int = 10) -> str:
    company = await billing.company(name, tax_rate="0.19")
    await billing.feed(MODULE, METRIC, "SRV")
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, units)))
    await billing.contract(company, [service("SRV", "2.00")], start=day(PERIOD, 1))
    return company


def _frozen(invoice: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in invoice.items() if k not in ("updated_at",)}


async def test_a_billing_run_twice_changes_nothing(billing: InvoicingApi) -> None:
    first_company = await _company(billing)
    await _company(billing, "Fabrikam GmbH", units=4)
    first = await billing.run(PERIOD)
    before = {d["id"]: d for d in await billing.documents(PERIOD)}
    draft = await billing.invoice_of(first_company, PERIOD)

    again = await billing.run(PERIOD)

    assert (first["invoices"], first["created"]) == (2, 2)
    assert (again["invoices"], again["corrections"], again["created"], again["updated"]) == (
        2,
        0,
        0,
        0,
    )
    assert again["id"] != first["id"]
    assert {d["id"]: d for d in await billing.documents(PERIOD)} == before
    assert await billing.invoice_of(first_company, PERIOD) == draft


async def test_a_draft_follows_late_usage(billing: InvoicingApi) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)
    assert lines_of(draft) == {"SRV": ("10.0000", "20.00")}

    await billing.usage(company, MODULE, METRIC, day(PERIOD, 21), steps((10, 3)), "late-org")
    run = await billing.run(PERIOD)

    assert (run["created"], run["updated"], run["corrections"]) == (0, 1, 0)
    refreshed = await billing.invoice_of(company, PERIOD)
    assert refreshed["id"] == draft["id"]
    assert refreshed["lines"][0]["id"] == draft["lines"][0]["id"]
    assert lines_of(refreshed) == {"SRV": ("11.0000", "22.00")}
    assert (refreshed["tax"], refreshed["total"]) == ("4.18", "26.18")


async def test_posting_numbers_the_invoice_and_freezes_it(billing: InvoicingApi) -> None:
    companies = [await _company(billing, f"Company {i}") for i in range(3)]
    await billing.run(PERIOD)
    drafts = [await billing.invoice_of(c, PERIOD) for c in companies]

    posted = [await billing.post(d["id"]) for d in drafts]

    assert [p["number"] for p in posted] == [1, 2, 3]
    assert {p["status"] for p in posted} == {"posted"}
    assert all(p["issued_on"] and p["due_on"] and p["posted_at"] for p in posted)
    assert posted[0]["customer"]["name"] == "Company 0"
    again = ok(await billing.client.post(f"/v1/invoices/{drafts[0]['id']}/post"), 409)
    assert again["type"].endswith("/conflict")
    assert await billing.invoice(drafts[0]["id"]) == posted[0]


class _RecordingOutbox:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def add(self, session: object, tenant_id: str, *events: Event) -> None:
        self.events.extend(events)


async def test_invoice_posted_carries_the_invoice_as_the_api_shows_it(
    billing: InvoicingApi,
) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)
    runtime = billing.api.system.runtimes["invoicing"]
    outbox = _RecordingOutbox()

    async with runtime.transaction() as session:
        await posting.post_invoice(
            session,
            cast(Outbox, outbox),
            billing.api.tenant_id,
            draft["id"],
            timezone="UTC",
            defaults=SellerDefaults("Test MSP", 14),
        )

    [event] = outbox.events
    assert isinstance(event, InvoicePosted)
    shown = await billing.invoice(draft["id"])
    assert event.invoice == shown
    assert (shown["status"], shown["number"], shown["lines"][0]["amount"]) == ("posted", 1, "20.00")


async def test_late_usage_after_posting_makes_corrections_for_exactly_the_difference(
    billing: InvoicingApi,
) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])
    assert (posted["number"], posted["total"]) == (1, "23.80")

    # 3 more units on days 21-30 from another org: +30 unit-days = +1.0000 units, +2.00.
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 21), steps((10, 3)), "late-org")
    run = await billing.run(PERIOD)

    assert (run["invoices"], run["corrections"], run["created"]) == (1, 1, 1)
    assert await billing.invoice(posted["id"]) == posted
    adjustment = await billing.invoice_of(company, PERIOD, kind="adjustment")
    assert (adjustment["corrects"], adjustment["status"], adjustment["number"]) == (
        posted["id"],
        "draft",
        None,
    )
    assert (adjustment["company_id"], adjustment["period"], adjustment["currency"]) == (
        company,
        PERIOD,
        "EUR",
    )
    [line] = adjustment["lines"]
    assert (line["service_code"], line["quantity"], line["amount"], line["unit_price"]) == (
        "SRV",
        "1.0000",
        "2.00",
        "2.00",
    )
    assert line["sources"] == [{"module": MODULE, "metric": METRIC, "quantity": "1.0000"}]
    assert (
        adjustment["subtotal"],
        adjustment["tax"],
        adjustment["total"],
        adjustment["balance"],
    ) == ("2.00", "0.38", "2.38", "2.38")

    again = await billing.run(PERIOD)
    assert (again["corrections"], again["created"], again["updated"]) == (1, 0, 0)
    assert await billing.invoice_of(company, PERIOD, kind="adjustment") == adjustment

    posted_adjustment = await billing.post(adjustment["id"])
    assert posted_adjustment["number"] == 2
    settled = await billing.run(PERIOD)
    assert (settled["corrections"], settled["created"], settled["updated"]) == (0, 0, 0)

    # The first org's usage is corrected down to 4 a day: now (120 + 30) / 30 = 5.0000
    # units, 10.00; invoiced so far 11.0000 and 22.00: a credit note of -6.0000 and -12.00.
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 4)))
    down = await billing.run(PERIOD)

    assert (down["corrections"], down["created"]) == (1, 1)
    credit = await billing.invoice_of(company, PERIOD, kind="credit_note")
    assert credit["corrects"] == posted["id"]
    assert lines_of(credit) == {"SRV": ("-6.0000", "-12.00")}
    assert (credit["subtotal"], credit["tax"], credit["total"], credit["balance"]) == (
        "-12.00",
        "-2.28",
        "-14.28",
        "-14.28",
    )
    posted_credit = await billing.post(credit["id"])
    # Posting applies the credit to the invoice it corrects (auto_apply_credit_notes).
    assert (posted_credit["number"], posted_credit["total"]) == (3, "-14.28")
    assert (posted_credit["balance"], posted_credit["unapplied"]) == ("0.00", "0.00")
    assert posted_credit["status"] == "paid"
    corrected = await billing.invoice(posted["id"])
    assert (corrected["balance"], corrected["status"]) == ("9.52", "posted")
    assert _frozen(corrected) | {"balance": "23.80"} == _frozen(posted)
    kinds = sorted((d["kind"], d["number"]) for d in await billing.documents(PERIOD))
    assert kinds == [("adjustment", 2), ("credit_note", 3), ("invoice", 1)]


async def test_a_waiting_correction_follows_the_data_and_disappears_when_not_needed(
    billing: InvoicingApi,
) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 13)))
    await billing.run(PERIOD)
    first = await billing.invoice_of(company, PERIOD, kind="adjustment")
    assert lines_of(first) == {"SRV": ("3.0000", "6.00")}

    # Less than posted now: the same waiting document turns into a credit note.
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 9)))
    run = await billing.run(PERIOD)

    assert (run["corrections"], run["created"], run["updated"]) == (1, 0, 1)
    credit = await billing.invoice_of(company, PERIOD, kind="credit_note")
    assert credit["id"] == first["id"]
    assert lines_of(credit) == {"SRV": ("-1.0000", "-2.00")}
    assert (credit["tax"], credit["total"]) == ("-0.38", "-2.38")

    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 10)))
    back = await billing.run(PERIOD)

    assert back["corrections"] == 0
    assert [d["id"] for d in await billing.documents(PERIOD)] == [posted["id"]]


async def test_a_mapping_made_after_posting_is_corrected(billing: InvoicingApi) -> None:
    company = await _company(billing)
    # An org of the company that reported all month but was not mapped at posting.
    org = "forgotten-org"
    records = [
        {
            "module": MODULE,
            "org_id": org,
            "org_name": "Contoso Branch",
            "metric": METRIC,
            "date": d.isoformat(),
            "quantity": "6",
        }
        for d in (day(PERIOD, n) for n in range(1, 31))
    ]
    ok(await billing.client.post("/v1/usage", json={"records": records}))
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])
    assert posted["total"] == "23.80"

    ok(
        await billing.client.put(
            f"/v1/module-orgs/{MODULE}/{org}/mapping", json={"company_id": company}
        )
    )
    await billing.run(PERIOD)

    adjustment = await billing.invoice_of(company, PERIOD, kind="adjustment")
    assert lines_of(adjustment) == {"SRV": ("6.0000", "12.00")}
    assert (adjustment["tax"], adjustment["total"]) == ("2.28", "14.28")
    assert await billing.invoice(posted["id"]) == posted


async def test_contract_changes_after_posting_are_corrected(billing: InvoicingApi) -> None:
    company = await _company(billing)
    [contract] = ok(await billing.client.get("/v1/contracts", params={"company_id": company}))[
        "items"
    ]
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])

    # New terms for the whole contract: an amendment from its start date.
    ok(
        await billing.client.post(
            f"/v1/contracts/{contract['id']}/amendments",
            json={"effective_from": contract["start_date"], "services": [service("SRV", "2.50")]},
        ),
        201,
    )
    await billing.run(PERIOD)
    adjustment = await billing.invoice_of(company, PERIOD, kind="adjustment")
    # Same quantity, higher price: the quantity delta is 0, the amount delta 5.00.
    assert lines_of(adjustment) == {"SRV": ("0.0000", "5.00")}
    assert adjustment["lines"][0]["unit_price"] == "2.50"
    await billing.post(adjustment["id"])

    # The contract now ends before the period: everything invoiced is credited.
    ok(
        await billing.client.patch(
            f"/v1/contracts/{contract['id']}",
            json={
                "start_date": day(PERIOD, 1).replace(year=2020).isoformat(),
                "end_date": day(PERIOD, 1).replace(year=2021).isoformat(),
            },
        )
    )
    run = await billing.run(PERIOD)

    assert (run["invoices"], run["corrections"]) == (0, 1)
    credit = await billing.invoice_of(company, PERIOD, kind="credit_note")
    assert lines_of(credit) == {"SRV": ("-10.0000", "-25.00")}
    assert credit["total"] == "-29.75"
    assert await billing.invoice(posted["id"]) == posted


async def test_voiding(billing: InvoicingApi) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)

    voided = ok(await billing.client.post(f"/v1/invoices/{draft['id']}/void"))
    assert (voided["status"], voided["number"], voided["balance"]) == ("void", None, "0.00")
    await billing.run(PERIOD)
    fresh = await billing.invoice_of(company, PERIOD)
    assert fresh["id"] != draft["id"] and fresh["status"] == "draft"

    posted = await billing.post(fresh["id"])
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 12)))
    await billing.run(PERIOD)
    adjustment = await billing.invoice_of(company, PERIOD, kind="adjustment")
    await billing.post(adjustment["id"])

    refused = ok(await billing.client.post(f"/v1/invoices/{posted['id']}/void"), 409)
    assert "void them first" in refused["detail"]
    ok(await billing.client.post(f"/v1/invoices/{adjustment['id']}/void"))
    # A posted invoice takes its waiting correction along when voided.
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 14)))
    await billing.run(PERIOD)
    waiting = await billing.invoice_of(company, PERIOD, kind="adjustment")
    assert waiting["status"] == "draft"
    assert ok(await billing.client.post(f"/v1/invoices/{posted['id']}/void"))["status"] == "void"
    assert (await billing.invoice(waiting["id"]))["status"] == "void"

    # The period is invoiced afresh; the numbers already given stay given.
    await billing.run(PERIOD)
    renewed = await billing.invoice_of(company, PERIOD)
    assert lines_of(renewed) == {"SRV": ("14.0000", "28.00")}
    assert (await billing.post(renewed["id"]))["number"] == 3
    again = ok(await billing.client.post(f"/v1/invoices/{posted['id']}/void"), 409)
    assert again["status"] == 409


async def test_another_tenants_invoice_is_not_found(billing: InvoicingApi) -> None:
    company = await _company(billing)
    await billing.run(PERIOD)
    invoice = await billing.invoice_of(company, PERIOD)
    async with await billing.api.new_tenant() as other:
        for method, path in (
            ("GET", f"/v1/invoices/{invoice['id']}"),
            ("POST", f"/v1/invoices/{invoice['id']}/post"),
            ("POST", f"/v1/invoices/{invoice['id']}/void"),
            ("GET", f"/v1/invoices/{invoice['id']}/payments"),
        ):
            answer = await other.request(method, path)
            assert answer.status_code == 404, (method, path, answer.text)


async def test_a_run_in_many_small_batches_and_writes_bills_the_same(
    billing: InvoicingApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large runs stream companies in batches and write while still reading the month."""
    companies = [await _company(billing, f"Company {i}", units=3 + i) for i in range(5)]
    monkeypatch.setattr(runs, "BATCH_COMPANIES", 1)
    monkeypatch.setattr(run_writes, "LINES_PER_FLUSH", 1)

    run = await billing.run(PERIOD)

    assert (run["invoices"], run["created"]) == (5, 5)
    for i, company in enumerate(companies):
        invoice = await billing.invoice_of(company, PERIOD)
        amount = f"{(3 + i) * 2}.00"
        assert lines_of(invoice) == {"SRV": (f"{3 + i}.0000", amount)}
    again = await billing.run(PERIOD)
    assert (again["created"], again["updated"]) == (0, 0)
