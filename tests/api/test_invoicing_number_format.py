"""The invoice number's display format (tenant setting ``invoice_number_format``): the
default prints as documents always printed, a new format applies to documents posted from
then on and never to posted ones, every file and answer prints the same number, and a
format documents cannot print with is refused with nothing changed."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader

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
DEFAULT = "INV-{year}-{number:05}"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _draft(billing: InvoicingApi, name: str, servers: int = 7) -> dict[str, Any]:
    company = await billing.company(name, tax_rate="0.19", external_ref=f"REF-{name[:3]}")
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((31, servers)))
    await billing.contract(company, [service("RMM-SRV", "12.50")], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    return await billing.invoice_of(company, PERIOD)


async def _file(billing: InvoicingApi, invoice_id: str, accept: str) -> tuple[bytes, str]:
    answer = await billing.client.get(f"/v1/invoices/{invoice_id}", headers={"Accept": accept})
    assert answer.status_code == 200, answer.text
    return answer.content, answer.headers["content-disposition"]


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_the_default_format_prints_as_before(billing: InvoicingApi) -> None:
    assert ok(await billing.client.get("/v1/settings"))["invoice_number_format"] == DEFAULT
    draft = await _draft(billing, "Contoso Ltd")
    assert draft["number"] is None and draft["display_number"] is None

    posted = await billing.post(draft["id"])

    expected = f"INV-{posted['issued_on'][:4]}-00001"
    assert (posted["number"], posted["display_number"]) == (1, expected)
    assert (await billing.invoice(posted["id"]))["display_number"] == expected
    listed = await billing.documents(PERIOD)
    assert [d["display_number"] for d in listed] == [expected]
    pdf, disposition = await _file(billing, posted["id"], "application/pdf")
    assert expected in _pdf_text(pdf)
    assert f'filename="invoice-{expected}.pdf"' in disposition


async def test_a_new_format_applies_from_the_next_posting_and_everywhere(
    billing: InvoicingApi,
) -> None:
    first = await billing.post((await _draft(billing, "Contoso Ltd"))["id"])
    year = first["issued_on"][:4]
    month = first["issued_on"][5:7]
    changed = ok(
        await billing.client.patch(
            "/v1/settings", json={"invoice_number_format": "RE/{year}{month:02}-{number:04}"}
        )
    )
    assert changed["invoice_number_format"] == "RE/{year}{month:02}-{number:04}"
    assert changed["anomaly_threshold"] == "0.5"  # the other settings keep their values

    second = await billing.post((await _draft(billing, "Fabrikam GmbH"))["id"])

    printed = f"RE/{year}{month}-0002"
    assert (second["number"], second["display_number"]) == (2, printed)
    # A posted document keeps the number it was issued with.
    assert (await billing.invoice(first["id"]))["display_number"] == f"INV-{year}-00001"
    pdf, disposition = await _file(billing, second["id"], "application/pdf")
    text = _pdf_text(pdf)
    assert printed in text and f"INV-{year}" not in text
    assert f'filename="invoice-RE-{year}{month}-0002.pdf"' in disposition
    content, _ = await _file(billing, second["id"], "text/csv")
    [row] = list(csv.DictReader(io.StringIO(content.decode())))
    assert (row["invoice_number"], row["display_number"]) == ("2", printed)
    exported = ok(
        await billing.client.get("/v1/invoice-exports", params={"period": PERIOD, "format": "json"})
    )
    assert [(i["number"], i["display_number"]) for i in exported["invoices"]] == [
        (1, f"INV-{year}-00001"),
        (2, printed),
    ]


async def test_a_correction_names_the_corrected_invoice_as_it_was_printed(
    billing: InvoicingApi,
) -> None:
    posted = await billing.post((await _draft(billing, "Contoso Ltd"))["id"])
    year = posted["issued_on"][:4]
    ok(await billing.client.patch("/v1/settings", json={"invoice_number_format": "CN{number}"}))
    company = posted["company_id"]
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((31, 9)))
    await billing.run(PERIOD)

    adjustment = await billing.post(
        (await billing.invoice_of(company, PERIOD, kind="adjustment"))["id"]
    )

    assert adjustment["display_number"] == "CN2"
    pdf, _ = await _file(billing, adjustment["id"], "application/pdf")
    text = _pdf_text(pdf)
    assert "Corrects invoice" in text and f"INV-{year}-00001" in text and "CN2" in text
    content, _ = await _file(billing, adjustment["id"], "text/csv")
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert {(r["display_number"], r["corrects_display_number"]) for r in rows} == {
        ("CN2", f"INV-{year}-00001")
    }


@pytest.mark.parametrize(
    ("fmt", "says"),
    [
        ("INV-{year}", "must contain {number}"),
        ("{customer}-{number}", "the fields are {year}, {month} and {number}"),
        ("{number:>8}", "a field takes only a width padded with zeros"),
        ("INV {number}", "letters, digits, '-' and '/' only"),
        ("INV-{number", "unbalanced braces"),
        ("{year}{month:02}{number:031}", "at most 36"),
        ("X" * 40 + "{number}", "at most 32 characters"),
    ],
)
async def test_a_bad_format_is_a_precise_problem_and_changes_nothing(
    billing: InvoicingApi, fmt: str, says: str
) -> None:
    before = ok(await billing.client.get("/v1/settings"))

    answer = await billing.client.patch(
        "/v1/settings", json={"invoice_number_format": fmt, "anomaly_threshold": "0.9"}
    )

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == 422 and problem["title"] and problem["type"]
    [error] = problem["errors"]
    assert error["loc"] == ["body", "invoice_number_format"]
    assert says in error["msg"]
    assert ok(await billing.client.get("/v1/settings")) == before


async def test_a_non_string_format_is_refused(billing: InvoicingApi) -> None:
    answer = await billing.client.patch("/v1/settings", json={"invoice_number_format": 5})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "invoice_number_format"]


async def test_bookkeeping_exports_use_the_printed_numbers(billing: InvoicingApi) -> None:
    first = await billing.post((await _draft(billing, "Contoso Ltd"))["id"])
    ok(await billing.client.patch("/v1/settings", json={"invoice_number_format": "{number:06}"}))
    second = await billing.post((await _draft(billing, "Fabrikam GmbH"))["id"])
    ok(
        await billing.client.put(
            "/v1/accounting/settings",
            json={
                "default_revenue_account": "8400",
                "debtor_accounts": {first["company_id"]: "10001", second["company_id"]: "10002"},
                "tax_codes": {"0.19": "3"},
            },
        )
    )
    printed = [first["display_number"], "000002"]
    assert printed[0].startswith("INV-")

    numbers = {}
    for export, column in (("xero", "*InvoiceNumber"), ("quickbooks", "*InvoiceNo")):
        answer = await billing.client.get(f"/v1/exports/{export}", params={"period": PERIOD})
        assert answer.status_code == 200, answer.text
        numbers[export] = [r[column] for r in csv.DictReader(io.StringIO(answer.text))]
    datev = await billing.client.get("/v1/exports/datev", params={"period": PERIOD})
    assert datev.status_code == 200, datev.text
    bookings = datev.content.decode("cp1252").split("\r\n")[2:]
    numbers["datev"] = [b.split(";")[10].strip('"') for b in bookings if b]

    assert numbers == {"xero": printed, "quickbooks": printed, "datev": printed}
