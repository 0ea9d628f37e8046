"""Invoices as files through the API: CSV (one row per line), a real PDF read back with
pypdf, the period export, content negotiation, and the seller frozen at posting."""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader

from services.invoicing.documents.exports import files
from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.pdf import invoice_pdf
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
SELLER = {
    "name": "Musterhaus IT Süd GmbH",
    "address": "Hauptstraße 1\n80331 München",
    "tax_id": "DE123456789",
    "email": "billing@musterhaus.example",
    "payment_terms_days": 30,
    "footer": "IBAN DE00 1234 5678 9012 3456 78",
}


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _invoice(
    billing: InvoicingApi, name: str = "Łódź Ćwiczenia Sp. z o.o.", external_ref: str = "CUST-0042"
) -> dict[str, Any]:
    """Two modules on two lines of one invoice, 19 % tax:
    - RMM-SRV: 7 servers all month at 12.50: 87.50
    - BACKUP: 3 agents and 2 more from a second module, 4.10 each: 20.50
    subtotal 108.00, tax 20.52, total 128.52"""
    company = await billing.company(name, tax_rate="0.19", external_ref=external_ref)
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.feed("datto_bcdr", "protected_agents", "BACKUP")
    await billing.feed("datto_endpoint_backup_server", "servers", "BACKUP")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((31, 7)))
    await billing.usage(company, "datto_bcdr", "protected_agents", day(PERIOD, 1), steps((31, 3)))
    await billing.usage(
        company, "datto_endpoint_backup_server", "servers", day(PERIOD, 1), steps((31, 2))
    )
    await billing.contract(
        company, [service("RMM-SRV", "12.50"), service("BACKUP", "4.10")], start=day(PERIOD, 1)
    )
    await billing.run(PERIOD)
    return await billing.invoice_of(company, PERIOD)


async def _csv(billing: InvoicingApi, path: str, **params: Any) -> list[dict[str, str]]:
    answer = await billing.client.get(path, params=params, headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_an_invoice_as_csv_has_a_row_per_line(billing: InvoicingApi) -> None:
    ok(await billing.client.put("/v1/seller-profile", json=SELLER))
    draft = await _invoice(billing)
    posted = await billing.post(draft["id"])

    rows = await _csv(billing, f"/v1/invoices/{posted['id']}")

    assert [r["service_code"] for r in rows] == ["BACKUP", "RMM-SRV"]
    backup, rmm = rows
    assert {
        k: backup[k]
        for k in (
            "document_type",
            "invoice_number",
            "status",
            "period",
            "period_start",
            "period_end",
            "currency",
            "company_name",
            "company_external_ref",
            "line_number",
        )
    } == {
        "document_type": "invoice",
        "invoice_number": "1",
        "status": "posted",
        "period": PERIOD,
        "period_start": day(PERIOD, 1).isoformat(),
        "period_end": day(PERIOD, 31).isoformat(),
        "currency": "EUR",
        "company_name": "Łódź Ćwiczenia Sp. z o.o.",
        "company_external_ref": "CUST-0042",
        "line_number": "1",
    }
    assert backup["invoice_date"] == posted["issued_on"]
    assert backup["due_date"] == posted["due_on"]
    assert (backup["quantity"], backup["unit_price"], backup["amount"]) == (
        "5.0000",
        "4.10",
        "20.50",
    )
    assert backup["sources"] == (
        "datto_bcdr/protected_agents=3.0000; datto_endpoint_backup_server/servers=2.0000"
    )
    assert (rmm["quantity"], rmm["amount"], rmm["tax_rate"]) == ("7.0000", "87.50", "0.19")
    # Tax shares: 20.50 x 19 % = 3.895 -> 3.90 and 87.50 x 19 % = 16.625 -> 16.63 make
    # 20.53; the invoice's tax is 20.52, so the larger line gives the cent back.
    assert (backup["line_tax"], rmm["line_tax"]) == ("3.90", "16.62")
    assert (backup["line_gross"], rmm["line_gross"]) == ("24.40", "104.12")
    assert {(r["invoice_subtotal"], r["invoice_tax"], r["invoice_total"]) for r in rows} == {
        ("108.00", "20.52", "128.52")
    }
    assert sum(Decimal(r["line_gross"]) for r in rows) == Decimal("128.52")


async def test_an_invoice_as_pdf(billing: InvoicingApi) -> None:
    ok(await billing.client.put("/v1/seller-profile", json=SELLER))
    posted = await billing.post((await _invoice(billing))["id"])

    answer = await billing.client.get(
        f"/v1/invoices/{posted['id']}", headers={"Accept": "application/pdf"}
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(answer.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Invoice" in text and "Number" in text
    assert str(posted["number"]) in text
    assert "128.52 EUR" in text and "20.52" in text and "108.00" in text
    for expected in (
        "Musterhaus IT Süd GmbH",
        "DE123456789",
        "Łódź Ćwiczenia Sp. z o.o.",
        "CUST-0042",
        "Datto BCDR",
        "Datto RMM",
        posted["issued_on"],
        posted["due_on"],
        "IBAN DE00",
    ):
        assert expected in text, expected
    year = posted["issued_on"][:4]
    assert reader.metadata is not None and reader.metadata.title == f"Invoice INV-{year}-00001"
    assert f"INV-{year}-00001" in text and posted["company_id"] not in text


async def test_the_pdf_is_rendered_off_the_event_loop(
    billing: InvoicingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted = await billing.post((await _invoice(billing))["id"])
    loop_thread, render_threads = threading.get_ident(), []

    def render(document: InvoiceDocument) -> bytes:
        render_threads.append(threading.get_ident())
        return invoice_pdf(document)

    monkeypatch.setattr(files, "invoice_pdf", render)
    answer = await billing.client.get(
        f"/v1/invoices/{posted['id']}", headers={"Accept": "application/pdf"}
    )

    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    assert len(render_threads) == 1 and render_threads[0] != loop_thread


async def test_a_draft_and_a_correction_as_pdf(billing: InvoicingApi) -> None:
    draft = await _invoice(billing)
    answer = await billing.client.get(
        f"/v1/invoices/{draft['id']}", headers={"Accept": "application/pdf"}
    )
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert "Invoice (draft)" in text and "not yet posted" in text

    posted = await billing.post(draft["id"])
    await billing.usage(
        posted["company_id"], "datto_rmm", "servers", day(PERIOD, 1), steps((31, 6))
    )
    await billing.run(PERIOD)
    credit = await billing.post(
        (await billing.invoice_of(posted["company_id"], PERIOD, kind="credit_note"))["id"]
    )
    answer = await billing.client.get(
        f"/v1/invoices/{credit['id']}", headers={"Accept": "application/pdf"}
    )
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert "Credit note" in text and "Corrects invoice" in text
    assert "-14.88 EUR" in text  # -12.50 and 19 % tax -2.38
    rows = await _csv(billing, f"/v1/invoices/{credit['id']}")
    assert [
        (
            r["document_type"],
            r["invoice_number"],
            r["corrects_invoice_number"],
            r["amount"],
            r["line_tax"],
        )
        for r in rows
    ] == [("credit_note", "2", "1", "-12.50", "-2.38")]


async def test_content_negotiation(billing: InvoicingApi) -> None:
    invoice = await _invoice(billing)
    path = f"/v1/invoices/{invoice['id']}"
    for accept, media in (
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/html, application/pdf;q=0.9", "application/pdf"),
        ("application/pdf;q=0.5, text/csv", "text/csv"),
    ):
        answer = await billing.client.get(path, headers={"Accept": accept})
        assert answer.status_code == 200, (accept, answer.text)
        assert answer.headers["content-type"].startswith(media), accept
    refused = await billing.client.get(path, headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert refused.json()["type"].endswith("/not-acceptable")


async def test_the_period_export_has_every_posted_document(billing: InvoicingApi) -> None:
    first = await billing.post((await _invoice(billing))["id"])
    second_draft = await _invoice(billing, "Fabrikam GmbH", "CUST-0007")
    await billing.usage(first["company_id"], "datto_rmm", "servers", day(PERIOD, 1), steps((31, 8)))
    await billing.run(PERIOD)
    adjustment = await billing.post(
        (await billing.invoice_of(first["company_id"], PERIOD, kind="adjustment"))["id"]
    )

    rows = await _csv(billing, "/v1/invoice-exports", period=PERIOD, format="csv")

    assert [(r["invoice_number"], r["document_type"], r["service_code"]) for r in rows] == [
        ("1", "invoice", "BACKUP"),
        ("1", "invoice", "RMM-SRV"),
        ("2", "adjustment", "RMM-SRV"),
    ]
    assert second_draft["id"] not in {r["invoice_id"] for r in rows}
    exported = ok(
        await billing.client.get("/v1/invoice-exports", params={"period": PERIOD, "format": "json"})
    )
    assert exported["period"] == PERIOD
    assert [i["number"] for i in exported["invoices"]] == [1, 2]
    assert exported["invoices"][1]["corrects"] == first["id"]
    assert exported["invoices"][0] == first
    assert adjustment["customer"]["external_ref"] == "CUST-0042"
    bad = ok(await billing.client.get("/v1/invoice-exports", params={"period": "2026-13"}), 422)
    assert bad["errors"][0]["loc"] == ["query", "period"]

    ok(await billing.client.post(f"/v1/invoices/{adjustment['id']}/void"))
    posted_only = await _csv(billing, "/v1/invoice-exports", period=PERIOD)
    assert {r["invoice_number"] for r in posted_only} == {"1"}
    every_number = await _csv(billing, "/v1/invoice-exports", period=PERIOD, include_void="true")
    assert sorted({(r["invoice_number"], r["status"]) for r in every_number}) == [
        ("1", "posted"),
        ("2", "void"),
    ]


async def test_posting_freezes_seller_and_customer(billing: InvoicingApi) -> None:
    ok(await billing.client.put("/v1/seller-profile", json=SELLER))
    posted = await billing.post((await _invoice(billing))["id"])
    assert posted["seller"]["name"] == SELLER["name"]
    assert posted["due_on"] > posted["issued_on"]

    ok(await billing.client.put("/v1/seller-profile", json={"name": "Renamed MSP"}))
    ok(
        await billing.client.patch(
            f"/v1/companies/{posted['company_id']}", json={"name": "Someone Else"}
        )
    )
    await billing.api.settle()

    assert await billing.invoice(posted["id"]) == posted
    profile = ok(await billing.client.get("/v1/seller-profile"))
    assert (profile["name"], profile["payment_terms_days"]) == ("Renamed MSP", 14)
