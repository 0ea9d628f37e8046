"""The invoice PDF as a customer's accounts-payable clerk reads it: the seller with tax id,
terms and payment details, the number in the tenant's format, the customer's name and
reference (never the internal id), a number column for three digits, a note on what a
quantity with decimals means, the days a segment of an amended contract covers, estimated
days marked, and the tiers, minimum or proration where quantity x price is not the amount.

:func:`month_of_october` builds its documents with the billing engine itself, so the
segments, estimated days and calculations are the ones a billing run stores."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
from pypdf import PdfReader

from services.invoicing.billing import (
    Contract,
    ContractVersion,
    Pricing,
    ServiceTerms,
    Tier,
    compute_invoices,
)
from services.invoicing.documents.content import LINE_COLUMNS, Content, draft_content, line_rows
from services.invoicing.documents.corrections import correction
from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.line_notes import (
    day_ranges,
    estimated_days,
    pricing_rows,
    segment,
)
from services.invoicing.documents.exports.pdf import ESTIMATED_NOTE, invoice_pdf, quantity_note
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.numbering import display_number, shown_number
from services.invoicing.documents.parties import Customer, Parties, Seller
from services.invoicing.models import InvoiceLineRow, InvoiceRow

D = Decimal
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
CUSTOMER = Customer(COMPANY_ID, "Łódź Ćwiczenia Sp. z o.o.", "CUST-0042")
ISSUED = date(2026, 11, 30)


def _row(
    kind: InvoiceKind,
    number: int,
    subtotal: Decimal,
    tax: Decimal,
    lines: list[InvoiceLineRow],
    *,
    corrects: str | None = None,
    fmt: str = "INV-{year}-{number:05}",
) -> InvoiceRow:
    return InvoiceRow(
        id=str(uuid.uuid4()),
        tenant_id="t",
        company_id=COMPANY_ID,
        period="2026-10",
        currency="EUR",
        kind=kind,
        corrects=corrects,
        status=InvoiceStatus.POSTED,
        number=number,
        display_number=display_number(number, ISSUED, fmt),
        subtotal=subtotal,
        tax_rate=D("0.19"),
        tax=tax,
        total=subtotal + tax,
        balance=subtotal + tax,
        issued_on=ISSUED,
        due_on=ISSUED + timedelta(days=30),
        posted_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        lines=lines,
    )


def document(
    quantities: list[str],
    *,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    number: int = 42,
    corrects_number: int | None = None,
) -> InvoiceDocument:
    """A posted document of October 2026 with one line per quantity at 1.25 a unit."""
    sign = D(-1) if kind == InvoiceKind.CREDIT_NOTE else D(1)
    lines = [
        InvoiceLineRow(
            id=str(uuid.uuid4()),
            position=i,
            contract_id="c",
            service_code=f"SRV-{i:03d}",
            description=f"Managed service {i}",
            quantity=sign * D(q),
            unit_price=D("1.25"),
            amount=(sign * D(q) * D("1.25")).quantize(D("0.01")),
            sources=[{"module": "datto_rmm", "metric": "servers", "quantity": str(sign * D(q))}],
            daily=[],
        )
        for i, q in enumerate(quantities, start=1)
    ]
    subtotal = sum((line.amount for line in lines), D(0))
    tax = (subtotal * D("0.19")).quantize(D("0.01"))
    corrects = str(uuid.uuid4()) if corrects_number else None
    row = _row(kind, number, subtotal, tax, lines, corrects=corrects)
    corrected = display_number(corrects_number, date(2026, 11, 2)) if corrects_number else None
    return InvoiceDocument(row, Parties(SELLER, CUSTOMER), corrects_number, corrected)


OCTOBER = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
SERVERS, AGENTS, USERS = (
    ("datto_rmm", "servers"),
    ("datto_bcdr", "protected_agents"),
    (
        "spanning_o365",
        "users",
    ),
)
ESTIMATED = {date(2026, 10, 12), date(2026, 10, 13)}
"""Days datto_rmm sent nothing: their servers are carried forward from 11 October."""


def _services(rmm_price: str, seat_prices: tuple[str, str]) -> tuple[ServiceTerms, ...]:
    return (
        ServiceTerms("RMM-SRV", "Managed servers", Pricing("per_unit", D(rmm_price))),
        ServiceTerms(
            "BACKUP",
            "Backup agents",
            Pricing(
                "graduated",
                D(0),
                (Tier(D(100), D("4.10")), Tier(D(500), D("3.50")), Tier(None, D("2.90"))),
            ),
        ),
        ServiceTerms(
            "M365",
            "Microsoft 365 seats",
            Pricing(
                "volume", D(0), (Tier(D(20), D(seat_prices[0])), Tier(None, D(seat_prices[1])))
            ),
            counting_basis="monthly_peak",
            minimum_units=D(25),
        ),
    )


CONTRACT = Contract(
    "c1",
    "Managed services",
    "EUR",
    date(2026, 1, 1),
    None,
    _services("12.50", ("6.00", "5.20")),
    # From 16 October servers and seats cost more: two lines for each in October.
    (ContractVersion(date(2026, 10, 16), _services("14.00", ("6.20", "5.40"))),),
)


def _content(servers: int, agents: int, users: int) -> Content:
    usage: Mapping[str, Mapping[tuple[str, str], Mapping[date, Decimal]]] = {
        "RMM-SRV": {
            SERVERS: {d: D(servers + (i % 7)) for i, d in enumerate(OCTOBER) if d not in ESTIMATED}
        },
        "BACKUP": {AGENTS: {d: D(agents + 7 * (i % 5)) for i, d in enumerate(OCTOBER)}},
        "M365": {USERS: {d: D(users + (i > 20)) for i, d in enumerate(OCTOBER)}},
    }
    reported = {
        "datto_rmm": {d for d in OCTOBER if d not in ESTIMATED},
        "datto_bcdr": set(OCTOBER),
        "spanning_o365": set(OCTOBER),
    }
    enabled = dict.fromkeys(reported, date(2026, 1, 1))
    [draft] = compute_invoices("2026-10", [CONTRACT], D("0.19"), usage, reported, enabled)
    return draft_content(draft)


def _lines(invoice_id: str, content: Content) -> list[InvoiceLineRow]:
    json_columns = {"sources", "daily", "calculation"}
    return [
        InvoiceLineRow(
            **{
                name: orjson.loads(value) if name in json_columns else value
                for name, value in zip(LINE_COLUMNS, values, strict=True)
            }
        )
        for values in line_rows(invoice_id, content.lines)
    ]


def month_of_october(kind: InvoiceKind = InvoiceKind.INVOICE) -> InvoiceDocument:
    """October 2026 of one customer as the billing engine computes it: managed servers in
    two segments (a price amendment on 16 October) with two estimated days, backup agents
    on graduated tiers (about 500 a day, around the 500 bound), Microsoft 365 seats at their
    monthly peak on volume tiers with a minimum of 25, in two segments too.
    ``adjustment``/``credit_note``: the correction after more/less usage arrived late."""
    invoiced = _content(servers=40, agents=488, users=12)
    content = invoiced
    if kind != InvoiceKind.INVOICE:
        more = kind == InvoiceKind.ADJUSTMENT
        later = _content(servers=46 if more else 35, agents=530 if more else 470, users=12)
        found = correction(later, invoiced.lines, D("0.19"), "EUR")
        assert found is not None and found.kind == kind
        content = found.content
    invoice_id = str(uuid.uuid4())
    number, corrects = (7, None) if kind == InvoiceKind.INVOICE else (9, str(uuid.uuid4()))
    row = _row(kind, number, content.subtotal, content.tax, _lines(invoice_id, content))
    row.id, row.corrects = invoice_id, corrects
    corrected = (7, display_number(7, ISSUED)) if corrects else (None, None)
    return InvoiceDocument(row, Parties(SELLER, CUSTOMER), *corrected)


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


def _line(doc: InvoiceDocument, code: str, start: int = 1) -> InvoiceLineRow:
    return next(
        line
        for line in doc.invoice.lines
        if line.service_code == code and (line.period_start or date(2026, 10, 1)).day == start
    )


def test_segments_of_an_amendment_print_their_days_and_whole_lines_do_not() -> None:
    doc = month_of_october()
    text = text_of(invoice_pdf(doc))

    assert segment(_line(doc, "RMM-SRV"), "2026-10") == (date(2026, 10, 1), date(2026, 10, 15))
    assert segment(_line(doc, "RMM-SRV", 16), "2026-10") == (
        date(2026, 10, 16),
        date(2026, 10, 31),
    )
    assert segment(_line(doc, "BACKUP"), "2026-10") is None
    assert "Days billed: 2026-10-01 to 2026-10-15" in text
    assert "Days billed: 2026-10-16 to 2026-10-31" in text
    assert text.count("Days billed:") == 4  # two services in two segments; backup whole
    assert "Days billed" not in text_of(invoice_pdf(document(["3", "4"])))


def test_lines_with_estimated_days_are_marked_with_a_footnote() -> None:
    doc = month_of_october()
    text = text_of(invoice_pdf(doc))

    assert estimated_days(_line(doc, "RMM-SRV"), "2026-10") == sorted(ESTIMATED)
    assert estimated_days(_line(doc, "RMM-SRV", 16), "2026-10") == []
    assert "Managed servers *" in text
    assert text.count("Managed servers *") == 1  # the second segment has no estimated day
    assert "Estimated: 2026-10-12 to 2026-10-13" in text
    assert "Includes estimated days" in text and ESTIMATED_NOTE.startswith("*")
    plain = text_of(invoice_pdf(document(["3", "4"])))
    assert "Estimated" not in plain and "Includes estimated days" not in plain


def test_day_ranges_join_consecutive_days() -> None:
    days = [date(2026, 10, d) for d in (2, 3, 4, 9, 30)]
    assert day_ranges(days) == "2026-10-02 to 2026-10-04, 2026-10-09, 2026-10-30"


def test_graduated_tiers_print_under_the_line_and_add_up_to_it() -> None:
    doc = month_of_october()
    backup = _line(doc, "BACKUP")
    rows = pricing_rows(backup, "EUR")

    assert [r.label for r in rows] == [
        "Tier 0 to 100 units",
        "Tier 100 to 500 units",
        "Tier over 500 units",
    ]
    assert sum(r.quantity or 0 for r in rows) == backup.quantity
    assert sum(r.amount or 0 for r in rows) == backup.amount
    for r in rows:  # each tier row multiplies out
        assert r.quantity is not None and r.unit_price is not None and r.amount is not None
        assert (r.quantity * r.unit_price).quantize(D("0.01")) == r.amount
    text = text_of(invoice_pdf(doc))
    assert "Tier 100 to 500 units" in text and "1,387.13" in text


def test_a_prorated_volume_line_shows_tier_minimum_and_proration() -> None:
    doc = month_of_october()
    seats = _line(doc, "M365")
    rows = pricing_rows(seats, "EUR")

    assert [(r.label, r.quantity, r.unit_price, r.amount) for r in rows] == [
        ("Volume tier over 20 units (every unit)", D("25.0000"), D("5.20"), D("130.00")),
        ("Minimum of 25 units applied", None, None, None),
        ("Prorated: x 15/31 days of the month", None, None, None),
    ]
    assert (D("130.00") * 15 / 31).quantize(D("0.01")) == seats.amount


def test_plain_per_unit_lines_carry_no_breakdown() -> None:
    doc = month_of_october()
    assert pricing_rows(_line(doc, "RMM-SRV"), "EUR") == []
    assert all(pricing_rows(line, "EUR") == [] for line in document(["3", "1.5"]).invoice.lines)
    assert "Tier" not in text_of(invoice_pdf(document(["3", "1.5"])))


def test_a_correction_shows_what_was_invoiced_and_what_is_due_now() -> None:
    for kind in (InvoiceKind.ADJUSTMENT, InvoiceKind.CREDIT_NOTE):
        doc = month_of_october(kind)
        backup = _line(doc, "BACKUP")
        rows = pricing_rows(backup, "EUR")
        before, now = rows[0], rows[1]
        assert (before.label, now.label) == ("Invoiced before", "Recomputed")
        assert before.amount is not None and now.amount is not None
        assert now.amount - before.amount == backup.amount
        assert rows[2].label.startswith("Recomputed: Tier 0 to 100")
        text = text_of(invoice_pdf(doc))
        assert "Corrects invoice" in text and "INV-2026-00007" in text
        assert ("Due date" in text) == (kind == InvoiceKind.ADJUSTMENT)


def test_a_hundred_lines_keep_each_line_with_its_breakdown() -> None:
    pdf = invoice_pdf(document([str(i) for i in range(1, 101)]))
    for page in PdfReader(io.BytesIO(pdf)).pages:
        text = page.extract_text()
        # Every "Managed service N" on a page has its source row on the same page.
        assert text.count("Managed service ") == text.count("Datto RMM: servers")


def test_the_pdf_prints_the_number_frozen_at_posting() -> None:
    doc = document(["3"])
    doc.invoice.display_number = display_number(42, ISSUED, "RE/{year}{month:02}-{number:04}")
    pdf = invoice_pdf(doc)
    reader = PdfReader(io.BytesIO(pdf))

    assert "RE/202611-0042" in text_of(pdf) and "INV-2026" not in text_of(pdf)
    assert reader.metadata is not None and reader.metadata.title == "Invoice RE/202611-0042"


def test_documents_posted_before_the_format_was_kept_print_the_default() -> None:
    row = document(["3"]).invoice
    row.display_number = None
    assert shown_number(row) == "INV-2026-00042"
    row.number = None
    assert shown_number(row) is None
