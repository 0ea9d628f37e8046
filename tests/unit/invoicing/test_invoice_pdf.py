"""The invoice PDF as a customer's accounts-payable clerk reads it: the seller with tax id,
terms and payment details, the number in the tenant's format, the customer's name and
reference (never the internal id), a number column for three digits, and a note on what
a quantity with decimals means."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.pdf import invoice_pdf, quantity_note
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.numbering import display_number
from services.invoicing.documents.parties import Customer, Parties, Seller
from services.invoicing.models import InvoiceLineRow, InvoiceRow

COMPANY_ID = str(uuid.uuid4())
SELLER = Seller(
    "Northwind IT GmbH",
    "Hauptstraße 1\n80331 München",
    "DE123456789",
    "billing@northwind.example",
    30,
    "Registered in Munich, HRB 12345",
    "Deutsche Bank, IBAN DE00 1234 5678 9012 3456 78, BIC DEUTDEDBXXX",
)


def document(
    quantities: list[str],
    *,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    number: int = 42,
    corrects_number: int | None = None,
) -> InvoiceDocument:
    """A posted document of October 2026 with one line per quantity at 1.25 a unit."""
    sign = Decimal(-1) if kind == InvoiceKind.CREDIT_NOTE else Decimal(1)
    lines = [
        InvoiceLineRow(
            id=str(uuid.uuid4()),
            position=i,
            contract_id="c",
            service_code=f"SRV-{i:03d}",
            description=f"Managed service {i}",
            quantity=sign * Decimal(q),
            unit_price=Decimal("1.25"),
            amount=(sign * Decimal(q) * Decimal("1.25")).quantize(Decimal("0.01")),
            sources=[
                {"module": "datto_rmm", "metric": "servers", "quantity": str(sign * Decimal(q))}
            ],
            daily=[],
        )
        for i, q in enumerate(quantities, start=1)
    ]
    subtotal = sum((line.amount for line in lines), Decimal(0))
    tax = (subtotal * Decimal("0.19")).quantize(Decimal("0.01"))
    row = InvoiceRow(
        id=str(uuid.uuid4()),
        tenant_id="t",
        company_id=COMPANY_ID,
        period="2026-10",
        currency="EUR",
        kind=kind,
        corrects=str(uuid.uuid4()) if corrects_number else None,
        status=InvoiceStatus.POSTED,
        number=number,
        subtotal=subtotal,
        tax_rate=Decimal("0.19"),
        tax=tax,
        total=subtotal + tax,
        balance=subtotal + tax,
        issued_on=date(2026, 11, 30),
        due_on=date(2026, 12, 30),
        posted_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        lines=lines,
    )
    customer = Customer(COMPANY_ID, "Łódź Ćwiczenia Sp. z o.o.", "CUST-0042")
    return InvoiceDocument(row, Parties(SELLER, customer), corrects_number, date(2026, 11, 2))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_number_prints_in_the_tenants_format() -> None:
    assert display_number(7, date(2026, 11, 30)) == "INV-2026-00007"
    assert display_number(7, date(2026, 11, 30), "{year}/{number}") == "2026/7"
    assert display_number(123456, None, "R{number:04}") == "R123456"


def test_the_invoice_names_seller_number_and_customer_not_internal_ids() -> None:
    text = text_of(invoice_pdf(document(["1579.7742", "12"])))

    for expected in (
        "Northwind IT GmbH",
        "VAT/tax id: DE123456789",
        "IBAN DE00 1234 5678 9012 3456 78",
        "Payment terms: 30 days net. Please pay by 2026-12-30",
        "INV-2026-00042",
        "Łódź Ćwiczenia Sp. z o.o.",
        "Customer reference: CUST-0042",
        "1,579.7742",
        "average daily units",
    ):
        assert expected in text, expected
    assert COMPANY_ID not in text


def test_the_quantity_note_explains_the_first_fractional_quantity() -> None:
    note = quantity_note(document(["3", "1579.7742"]))
    assert note is not None
    assert "31 days" in note and "1,579.7742 means" in note and "48,973 unit-days" in note
    assert quantity_note(document(["3", "12"])) is None


def test_a_correction_names_the_invoice_it_corrects_in_the_same_format() -> None:
    text = text_of(invoice_pdf(document(["2.5"], kind=InvoiceKind.CREDIT_NOTE, corrects_number=3)))
    assert "Credit note" in text and "INV-2026-00003" in text
    assert "applied to open invoices or refunded" in text


def test_a_forty_line_invoice_numbers_every_line() -> None:
    pdf = invoice_pdf(document([str(i + Decimal("0.5")) for i in range(1, 41)]))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = text_of(pdf)
    assert all(f"Managed service {i}" in text for i in range(1, 41))
