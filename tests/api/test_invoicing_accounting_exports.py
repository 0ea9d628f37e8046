"""Accounting exports through the API: DATEV Buchungsstapel (EXTF header fields, bookings per
line with the tenant's accounts and tax key), Xero and QuickBooks Online columns, every row
multiplying out (a tiered line becomes 1 x its amount), and the accounting settings."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pytest

from services.invoicing.documents.exports import datev, quickbooks, xero
from tests.api.test_invoicing_support import (
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
CENT = Decimal("0.01")


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _month(billing: InvoicingApi) -> tuple[str, dict[str, Any]]:
    """One posted invoice, 19 % tax, two lines:
    - RMM-SRV: 4 servers at 12.50 = 50.00 (multiplies out)
    - BACKUP: 7000 agents, first 1000 at 1.00, the rest at 0.33 = 2980.00; its unit price
      (2980 / 7000 = 0.4257) times 7000 is 2979.90, so it is exported as 1 x 2980.00."""
    company = await billing.company("Müller Straßenbau GmbH", tax_rate="0.19")
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.feed("datto_bcdr", "protected_agents", "BACKUP")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((31, 4)))
    await billing.usage(
        company, "datto_bcdr", "protected_agents", day(PERIOD, 1), steps((31, 7000))
    )
    tiers = service("BACKUP", None, model="graduated", tiers=[("1000", "1.00"), (None, "0.33")])
    await billing.contract(company, [service("RMM-SRV", "12.50"), tiers], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)
    return company, await billing.post(draft["id"])


async def _settings(billing: InvoicingApi, company: str) -> None:
    ok(
        await billing.client.put(
            "/v1/accounting/settings",
            json={
                "default_revenue_account": "8400",
                "revenue_accounts": {"BACKUP": "8401"},
                "debtor_accounts": {company: "10001"},
                "tax_codes": {"0.190": "3"},
                "datev_consultant_number": "1001",
                "datev_client_number": "42",
            },
        )
    )


async def _get(billing: InvoicingApi, path: str) -> Any:
    answer = await billing.client.get(path, params={"period": PERIOD})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return answer


def _multiplies_out(quantity: str, price: str, amount: str) -> bool:
    product = (Decimal(quantity) * Decimal(price)).quantize(CENT, rounding=ROUND_HALF_UP)
    return product == Decimal(amount)


async def test_settings_are_kept_with_normalised_tax_rates(billing: InvoicingApi) -> None:
    before = ok(await billing.client.get("/v1/accounting/settings"))
    assert before["default_revenue_account"] is None
    await _settings(billing, "c-1")
    after = ok(await billing.client.get("/v1/accounting/settings"))
    assert after["tax_codes"] == {"0.19": "3"}
    assert after["revenue_accounts"] == {"BACKUP": "8401"}
    for body, loc in (
        ({"default_revenue_account": "8400", "tax_codes": {"abc": "1"}}, "tax_codes"),
        ({"default_revenue_account": "8400", "tax_codes": {"1.5": "1"}}, "tax_codes"),
        ({"default_revenue_account": "84 00"}, "default_revenue_account"),
    ):
        answer = await billing.client.put("/v1/accounting/settings", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"][:2] == ["body", loc]
    assert ok(await billing.client.get("/v1/accounting/settings")) == after


async def test_datev_buchungsstapel(billing: InvoicingApi) -> None:
    company, invoice = await _month(billing)
    refused = await billing.client.get("/v1/exports/datev", params={"period": PERIOD})
    assert refused.status_code == 409
    await _settings(billing, company)
    answer = await _get(billing, "/v1/exports/datev")
    text = answer.content.decode(datev.ENCODING)
    lines = text.split("\r\n")
    head = lines[0].split(";")
    assert len(head) == 31
    assert head[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert head[10:14] == ["1001", "42", f"{PERIOD[:4]}0101", "4"]
    assert head[14] == day(PERIOD, 1).strftime("%Y%m%d")
    assert head[15] == day(PERIOD, 31).strftime("%Y%m%d")
    assert lines[1].split(";")[:2] == ['"Umsatz (ohne Soll/Haben-Kz)"', '"Soll/Haben-Kennzeichen"']
    bookings = [line.split(";") for line in lines[2:] if line]
    assert len(bookings) == 2
    gross = sum(Decimal(b[0].replace(",", ".")) for b in bookings)
    assert gross == Decimal(invoice["total"])
    by_account = {b[7]: b for b in bookings}
    assert set(by_account) == {"8400", "8401"}
    for booking in bookings:
        assert booking[1] == '"S"'
        assert booking[2] == '"EUR"'
        assert booking[6] == "10001"
        assert booking[8] == '"3"'
        assert booking[10] == f'"{invoice["display_number"]}"'
    # The document number is the one the invoice prints (the default format).
    assert invoice["display_number"] == f"INV-{invoice['issued_on'][:4]}-{invoice['number']:05}"
    amounts = {line["service_code"]: Decimal(line["amount"]) for line in invoice["lines"]}
    rmm = Decimal(by_account["8400"][0].replace(",", "."))
    assert rmm == (amounts["RMM-SRV"] * Decimal("1.19")).quantize(CENT)


async def test_datev_needs_a_debtor_for_every_company(billing: InvoicingApi) -> None:
    await _month(billing)
    await _settings(billing, "another-company")
    answer = await billing.client.get("/v1/exports/datev", params={"period": PERIOD})
    assert answer.status_code == 409
    assert "debtor" in answer.json()["detail"]


async def test_xero_rows_multiply_out(billing: InvoicingApi) -> None:
    company, invoice = await _month(billing)
    await _settings(billing, company)
    answer = await _get(billing, "/v1/exports/xero")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0].keys()) == xero.COLUMNS
    assert len(rows) == 2
    by_code = {r["InventoryItemCode"]: r for r in rows}
    lines = {line["service_code"]: line for line in invoice["lines"]}
    for code, row in by_code.items():
        line = lines[code]
        assert row["*ContactName"] == "Müller Straßenbau GmbH"
        assert row["*InvoiceNumber"] == invoice["display_number"]
        assert _multiplies_out(row["*Quantity"], row["*UnitAmount"], line["amount"])
        assert row["*TaxType"] == "3"
        assert row["Currency"] == "EUR"
    assert by_code["RMM-SRV"]["*Quantity"] == lines["RMM-SRV"]["quantity"]
    assert by_code["RMM-SRV"]["*AccountCode"] == "8400"
    assert by_code["BACKUP"]["*AccountCode"] == "8401"
    assert not _multiplies_out(
        lines["BACKUP"]["quantity"], lines["BACKUP"]["unit_price"], lines["BACKUP"]["amount"]
    )
    assert (by_code["BACKUP"]["*Quantity"], by_code["BACKUP"]["*UnitAmount"]) == (
        "1",
        lines["BACKUP"]["amount"],
    )
    issued = invoice["issued_on"]
    assert by_code["BACKUP"]["*InvoiceDate"] == f"{issued[8:10]}/{issued[5:7]}/{issued[:4]}"


async def test_quickbooks_rows_multiply_out_and_add_up(billing: InvoicingApi) -> None:
    company, invoice = await _month(billing)
    await _settings(billing, company)
    answer = await _get(billing, "/v1/exports/quickbooks")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0].keys()) == quickbooks.COLUMNS
    assert len(rows) == 2
    for row in rows:
        assert row["*InvoiceNo"] == invoice["display_number"]
        assert _multiplies_out(row["ItemQuantity"], row["ItemRate"], row["*ItemAmount"])
        assert row["*ItemTaxCode"] == "3"
    net = sum(Decimal(r["*ItemAmount"]) for r in rows)
    tax = sum(Decimal(r["ItemTaxAmount"]) for r in rows)
    assert (net, tax, net + tax) == (
        Decimal(invoice["subtotal"]),
        Decimal(invoice["tax"]),
        Decimal(invoice["total"]),
    )


async def test_a_bad_period_is_refused(billing: InvoicingApi) -> None:
    for path in ("/v1/exports/datev", "/v1/exports/xero", "/v1/exports/quickbooks"):
        answer = await billing.client.get(path, params={"period": "2026-13"})
        assert answer.status_code == 422, answer.text


async def test_a_period_before_year_one_is_refused(billing: InvoicingApi) -> None:
    answer = await billing.client.get("/v1/exports/datev", params={"period": "0000-01"})
    assert answer.status_code == 422, answer.text
