"""Contract amendments through the API (PRODUCT.md section 10): versions of the service
terms, one line per segment of constant terms, corrections for posted periods, lines that
multiply out or say why not (``pricing_detail``, CSV as quantity 1 x amount), and the
explanation of a line with its calculation and each day's reason."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
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

PERIOD = latest_month(30)
LONG = latest_month(31)
MODULE, METRIC = "datto_rmm", "servers"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _contract(billing: InvoicingApi, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "company_id": await billing.company(),
        "name": "Managed services",
        "start_date": (TODAY - timedelta(days=60)).isoformat(),
        "currency": "EUR",
        "services": [service("SVC", "2.50")],
        **changes,
    }
    return dict(ok(await billing.client.post("/v1/contracts", json=body), 201))


async def _amend(
    billing: InvoicingApi, contract_id: str, since: Any, services: list[Any], status: int = 201
) -> Any:
    body = {"effective_from": str(since), "services": services}
    return ok(
        await billing.client.post(f"/v1/contracts/{contract_id}/amendments", json=body), status
    )


def _prices(version: dict[str, Any]) -> dict[str, str]:
    return {s["service_code"]: s["unit_price"] for s in version["services"]}


async def test_amendments_are_versions_oldest_first(billing: InvoicingApi) -> None:
    contract = await _contract(billing)
    start = TODAY - timedelta(days=60)
    assert [(v["effective_from"], _prices(v)) for v in contract["versions"]] == [
        (start.isoformat(), {"SVC": "2.50"})
    ]

    future = TODAY + timedelta(days=10)
    await _amend(billing, contract["id"], future, [service("SVC", "4.00")])
    past = TODAY - timedelta(days=10)
    amended = await _amend(billing, contract["id"], past, [service("SVC", "3.00"), service("NEW")])

    assert [(v["effective_from"], _prices(v)) for v in amended["versions"]] == [
        (start.isoformat(), {"SVC": "2.50"}),
        (past.isoformat(), {"SVC": "3.00", "NEW": "1.00"}),
        (future.isoformat(), {"SVC": "4.00"}),
    ]
    # The services in force today: the version of ten days ago.
    assert _prices({"services": amended["services"]}) == {"SVC": "3.00", "NEW": "1.00"}
    assert ok(await billing.client.get(f"/v1/contracts/{contract['id']}")) == amended

    # The same effective_from replaces that version; the start date replaces the first.
    replaced = await _amend(billing, contract["id"], past, [service("SVC", "3.50")])
    first = await _amend(billing, contract["id"], start, [service("SVC", "2.00")])
    assert [(v["effective_from"], _prices(v)) for v in first["versions"]] == [
        (start.isoformat(), {"SVC": "2.00"}),
        (past.isoformat(), {"SVC": "3.50"}),
        (future.isoformat(), {"SVC": "4.00"}),
    ]
    assert replaced["services"] == first["services"]
    listed = ok(await billing.client.get("/v1/contracts"))["items"]
    assert listed == [first]


async def test_an_amendment_outside_the_contract_changes_nothing(billing: InvoicingApi) -> None:
    start, end = TODAY - timedelta(days=60), TODAY + timedelta(days=30)
    contract = await _contract(billing, end_date=end.isoformat())
    path = f"/v1/contracts/{contract['id']}"

    for since in (start - timedelta(days=1), end + timedelta(days=1)):
        problem = await _amend(billing, contract["id"], since, [service("SVC", "9.00")], 422)
        assert problem["type"].endswith("/validation-error")
        assert problem["errors"][0]["loc"] == ["body", "effective_from"]
        assert "within the contract's dates" in problem["errors"][0]["msg"]
    problem = await _amend(billing, contract["id"], TODAY, [service("SVC", "-1")], 422)
    assert problem["errors"][0]["loc"] == ["body", "services", 0, "unit_price"]
    problem = await _amend(billing, contract["id"], TODAY, [], 422)
    assert problem["errors"][0]["loc"] == ["body", "services"]
    assert ok(await billing.client.get(path)) == contract

    await _amend(billing, "no-such-contract", TODAY, [service("SVC")], 404)
    async with await billing.api.new_tenant() as other:
        body = {"effective_from": TODAY.isoformat(), "services": [service("SVC")]}
        answer = await other.post(f"{path}/amendments", json=body)
        assert answer.status_code == 404
    assert ok(await billing.client.get(path)) == contract


async def test_patch_keeps_name_and_dates_and_refuses_services(billing: InvoicingApi) -> None:
    contract = await _contract(billing)
    path = f"/v1/contracts/{contract['id']}"
    amended = await _amend(billing, contract["id"], TODAY, [service("SVC", "3.00")])

    problem = ok(await billing.client.patch(path, json={"services": [service("SVC", "5")]}), 422)
    assert problem["errors"][0]["loc"] == ["body", "services"]
    assert "/amendments" in problem["errors"][0]["msg"]
    # The first version cannot start after an amendment.
    late = (TODAY + timedelta(days=1)).isoformat()
    problem = ok(await billing.client.patch(path, json={"start_date": late}), 422)
    assert problem["errors"][0]["loc"] == ["body", "start_date"]
    assert ok(await billing.client.get(path)) == amended

    end = (TODAY + timedelta(days=90)).isoformat()
    patched = ok(await billing.client.patch(path, json={"name": "Renamed", "end_date": end}))
    assert (patched["name"], patched["end_date"]) == ("Renamed", end)
    assert patched["versions"] == amended["versions"]


async def _billed(billing: InvoicingApi, period: str, *services: dict[str, Any]) -> tuple[str, str]:
    """A company using 10 units a day of every service all month, its contract from the
    period's first day: (company id, contract id)."""
    company = await billing.company()
    codes = [s["service_code"] for s in services]
    await billing.feed(MODULE, METRIC, *codes)
    await billing.usage(company, MODULE, METRIC, day(period, 1), steps((30, 10)))
    contract = await billing.contract(company, list(services), start=day(period, 1))
    return company, contract


async def test_a_price_change_within_the_month_bills_a_line_per_segment(
    billing: InvoicingApi,
) -> None:
    company, contract = await _billed(billing, PERIOD, service("SVC", "1.00"), service("KEEP"))
    await _amend(
        billing, contract, day(PERIOD, 16), [service("SVC", "2.00"), service("KEEP", "1.00")]
    )
    await billing.run(PERIOD)

    invoice = await billing.invoice_of(company, PERIOD)

    shown = [
        (li["service_code"], li["period_start"], li["period_end"], li["quantity"], li["amount"])
        for li in invoice["lines"]
    ]
    assert shown == [
        ("KEEP", day(PERIOD, 1).isoformat(), day(PERIOD, 30).isoformat(), "10.0000", "10.00"),
        ("SVC", day(PERIOD, 1).isoformat(), day(PERIOD, 15).isoformat(), "5.0000", "5.00"),
        ("SVC", day(PERIOD, 16).isoformat(), day(PERIOD, 30).isoformat(), "5.0000", "10.00"),
    ]
    assert [li["unit_price"] for li in invoice["lines"]] == ["1.00", "1.00", "2.00"]
    assert all(li["pricing_detail"] is None for li in invoice["lines"])
    assert len({li["id"] for li in invoice["lines"]}) == 3
    assert invoice["subtotal"] == "25.00"

    second = invoice["lines"][2]
    explained = ok(
        await billing.client.get(f"/v1/invoices/{invoice['id']}/lines/{second['id']}/explain")
    )
    assert (explained["period_start"], explained["calculation"]["days_in_period"]) == (
        day(PERIOD, 16).isoformat(),
        30,
    )
    [source] = explained["sources"]
    reasons = {d["date"]: d["reason"] for d in source["days"]}
    assert len(reasons) == 30
    assert reasons[day(PERIOD, 1).isoformat()] == "other_terms"
    assert reasons[day(PERIOD, 16).isoformat()] is None


async def test_an_amendment_into_a_posted_period_is_corrected(billing: InvoicingApi) -> None:
    company, contract = await _billed(billing, PERIOD, service("SVC", "1.00"))
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])
    assert posted["total"] == "10.00"

    await _amend(billing, contract, day(PERIOD, 16), [service("SVC", "2.00")])
    run = await billing.run(PERIOD)

    assert run["corrections"] == 1
    adjustment = await billing.invoice_of(company, PERIOD, kind="adjustment")
    assert adjustment["corrects"] == posted["id"]
    [line] = adjustment["lines"]
    assert (line["quantity"], line["amount"]) == ("0.0000", "5.00")
    assert (line["period_start"], line["period_end"]) == (
        day(PERIOD, 1).isoformat(),
        day(PERIOD, 30).isoformat(),
    )
    assert line["pricing_detail"]["difference"] == {
        "invoiced": {"quantity": "10.0000", "amount": "10.00"},
        "recomputed": {"quantity": "10.0000", "amount": "15.00"},
    }
    assert [d["active_days"] for d in line["pricing_detail"]["recomputed"]] == [15, 15]
    assert await billing.invoice(posted["id"]) == posted
    # Nothing changed since: a second run leaves the correction alone.
    assert (await billing.run(PERIOD))["updated"] == 0


async def _csv_rows(billing: InvoicingApi, invoice_id: str) -> list[dict[str, str]]:
    answer = await billing.client.get(f"/v1/invoices/{invoice_id}", headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def _multiplies(row: dict[str, str]) -> bool:
    product = Decimal(row["quantity"]) * Decimal(row["unit_price"])
    return product.quantize(Decimal(row["amount"])) == Decimal(row["amount"])


async def test_the_graduated_line_at_1_70_shows_its_tiers(billing: InvoicingApi) -> None:
    """Issue 12: 1,428.6452 x 1.70 = 2,428.70, but the tiers make 2,428.65."""
    company = await billing.company()
    await billing.feed(MODULE, METRIC, "TIERED")
    await billing.usage(company, MODULE, METRIC, day(LONG, 1), steps((10, 1409), (21, 1438)))
    tiered = service("TIERED", None, model="graduated", tiers=(("1000", "2.00"), (None, "1.00")))
    await billing.contract(company, [tiered], start=day(LONG, 1))
    await billing.run(LONG)

    invoice = await billing.invoice_of(company, LONG)

    [line] = invoice["lines"]
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        "1428.6452",
        "1.70",
        "2428.65",
    )
    detail = line["pricing_detail"]
    assert detail["model"] == "graduated" and detail["minimum_applied"] is False
    assert detail["tiers"] == [
        {"from": "0.0000", "up_to": "1000.0000", "quantity": "1000.0000", "unit_price": "2.00",
         "amount": "2000.00"},
        {"from": "1000.0000", "up_to": None, "quantity": "428.6452", "unit_price": "1.00",
         "amount": "428.65"},
    ]  # fmt: skip
    [row] = await _csv_rows(billing, invoice["id"])
    assert (row["quantity"], row["unit_price"], row["amount"]) == ("1.0000", "2428.65", "2428.65")
    assert (row["line_quantity"], row["line_unit_price"]) == ("1428.6452", "1.70")
    assert _multiplies(row)

    explained = ok(
        await billing.client.get(f"/v1/invoices/{invoice['id']}/lines/{line['id']}/explain")
    )
    calc = explained["calculation"]
    assert (calc["model"], calc["counting_basis"], calc["days_in_period"]) == (
        "graduated",
        "daily",
        31,
    )
    assert calc["tiers"] == detail["tiers"] and "/ D" in calc["formula"]


async def test_the_3_999_usd_csv_row_multiplies_out(billing: InvoicingApi) -> None:
    """Issue 12: 35 units in a 31-day month at 3.999 USD: 1.1290 x 3.999 = 4.51, the line
    is 4.52; the CSV writes it as 1 x 4.52, and a line that multiplies out as it is."""
    company = await billing.company(currency="USD")
    await billing.feed(MODULE, METRIC, "ODD", "EVEN")
    await billing.usage(company, MODULE, METRIC, day(LONG, 1), steps((7, 5), (24, 0)))
    services = [service("ODD", "3.999"), service("EVEN", "3.10")]
    await billing.contract(company, services, start=day(LONG, 1), currency="USD")
    await billing.run(LONG)
    invoice = await billing.invoice_of(company, LONG)

    by_code = {li["service_code"]: li for li in invoice["lines"]}
    odd, even = by_code["ODD"], by_code["EVEN"]
    assert (odd["quantity"], odd["unit_price"], odd["amount"]) == ("1.1290", "3.999", "4.52")
    assert odd["pricing_detail"]["unit_price"] == "3.999"
    assert (even["quantity"], even["amount"], even["pricing_detail"]) == ("1.1290", "3.50", None)

    rows = {r["service_code"]: r for r in await _csv_rows(billing, invoice["id"])}
    assert (rows["ODD"]["quantity"], rows["ODD"]["unit_price"]) == ("1.0000", "4.52")
    assert (rows["EVEN"]["quantity"], rows["EVEN"]["unit_price"]) == ("1.1290", "3.10")
    assert all(_multiplies(r) for r in rows.values())


async def test_a_credit_note_line_that_does_not_multiply_out(billing: InvoicingApi) -> None:
    company = await billing.company()
    await billing.feed(MODULE, METRIC, "PEAK")
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 20)))
    peak = service(
        "PEAK",
        None,
        model="graduated",
        tiers=(("10", "2.00"), (None, "1.50")),
        basis="monthly_peak",
    )
    await billing.contract(company, [peak], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    posted = await billing.post((await billing.invoice_of(company, PERIOD))["id"])
    assert posted["lines"][0]["amount"] == "35.00"

    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 7)))
    await billing.run(PERIOD)
    credit = await billing.invoice_of(company, PERIOD, kind="credit_note")

    [line] = credit["lines"]
    assert (line["quantity"], line["unit_price"], line["amount"]) == ("-13.0000", "2.00", "-21.00")
    assert line["pricing_detail"]["difference"]["recomputed"] == {
        "quantity": "7.0000",
        "amount": "14.00",
    }
    [row] = await _csv_rows(billing, credit["id"])
    assert (row["quantity"], row["unit_price"], row["amount"]) == ("1.0000", "-21.00", "-21.00")


async def test_days_before_billing_was_enabled_say_so(billing: InvoicingApi) -> None:
    company = await billing.company()
    module = "rocketcyber"
    ok(
        await billing.client.put(
            f"/v1/modules/{module}/billing",
            json={"enabled": True, "effective_from": day(PERIOD, 11).isoformat()},
        )
    )
    ok(
        await billing.client.put(
            f"/v1/service-mappings/{module}/devices", json={"service_codes": ["EDR"]}
        )
    )
    await billing.usage(company, module, "devices", day(PERIOD, 1), steps((30, 3)))
    await billing.contract(company, [service("EDR", "1.00", minimum="2")], start=day(PERIOD, 6))
    await billing.run(PERIOD)
    invoice = await billing.invoice_of(company, PERIOD)
    [line] = invoice["lines"]
    # Days 6-10 count the minimum of 2, days 11-30 their 3 units: (5 x 2 + 20 x 3) / 30.
    assert (line["quantity"], line["amount"]) == ("2.3333", "2.33")

    explained = ok(
        await billing.client.get(f"/v1/invoices/{invoice['id']}/lines/{line['id']}/explain")
    )

    [source] = explained["sources"]
    reasons = [d["reason"] for d in source["days"]]
    assert reasons == ["no_contract"] * 5 + ["billing_not_enabled"] * 5 + [None] * 20
    calc = explained["calculation"]
    assert (calc["minimum_units"], calc["minimum_applied"], calc["active_days"]) == (
        "2.0000",
        True,
        25,
    )
    assert (calc["counting_basis"], calc["model"], calc["unit_price"]) == (
        "daily",
        "per_unit",
        "1.00",
    )
