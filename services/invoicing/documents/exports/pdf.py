"""An invoice as a PDF for the customer (reportlab): seller (with tax id, payment terms and
payment details) and customer (name and reference, never internal ids), number in the
tenant's format and dates, the lines with their per-module breakdown, the days a line covers
when an amendment split the month, its estimated days (marked, with a footnote) and how its
amount was reached where quantity x price does not give it (:mod:`.line_notes`), a note on
average daily quantities, tax and totals.

Text is set in DejaVu Sans where the system has it (customer names come in every European
script), else in the Vera font reportlab ships.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from services.invoicing.billing import parse_period
from services.invoicing.documents.content import parse_sources
from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.line_notes import (
    day_ranges,
    estimated_days,
    pricing_rows,
    segment,
)
from services.invoicing.documents.formatting import money, price, quantity
from services.invoicing.documents.lifecycle import NUMBERED, InvoiceKind, InvoiceStatus
from services.invoicing.models import InvoiceLineRow
from shared.catalog import CATALOG

TITLES = {
    InvoiceKind.INVOICE: "Invoice",
    InvoiceKind.ADJUSTMENT: "Adjustment invoice",
    InvoiceKind.CREDIT_NOTE: "Credit note",
}
_MARKS = {InvoiceStatus.DRAFT: " (draft)", InvoiceStatus.VOID: " (void)"}
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path(reportlab.__file__).parent / "fonts")
_FONT_FILES = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("Vera.ttf", "VeraBd.ttf"))
_MODULE_NAMES = {module.id: module.name for module in CATALOG.modules}


def _fonts() -> tuple[str, str]:
    """(regular, bold) font names, registered once."""
    if "ICB-Regular" in pdfmetrics.getRegisteredFontNames():
        return "ICB-Regular", "ICB-Bold"
    for folder in _FONT_DIRS:
        for regular, bold in _FONT_FILES:
            if (folder / regular).exists() and (folder / bold).exists():
                pdfmetrics.registerFont(TTFont("ICB-Regular", str(folder / regular)))
                pdfmetrics.registerFont(TTFont("ICB-Bold", str(folder / bold)))
                return "ICB-Regular", "ICB-Bold"
    return "Helvetica", "Helvetica-Bold"


def amount_text(value: Decimal, currency: str) -> str:
    """``1,234.56``: grouped thousands, the currency's minor digits."""
    return f"{money(value, currency):,}"


def _date(value: date | None) -> str:
    return value.isoformat() if value else "-"


class _Styles:
    def __init__(self) -> None:
        regular, bold = _fonts()
        self.bold = bold
        self.body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
        self.small = ParagraphStyle(
            "small",
            parent=self.body,
            fontSize=7.5,
            leading=9.5,
            textColor=colors.HexColor("#555555"),
        )
        self.seller = ParagraphStyle(
            "seller", parent=self.body, fontName=bold, fontSize=14, leading=18
        )
        self.title = ParagraphStyle(
            "title", parent=self.body, fontName=bold, fontSize=18, leading=22, alignment=TA_RIGHT
        )
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        self.small_right = ParagraphStyle("small_right", parent=self.small, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", parent=self.body, fontName=bold)
        self.head_right = ParagraphStyle("head_right", parent=self.head, alignment=TA_RIGHT)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


ESTIMATED_MARK = "*"
ESTIMATED_NOTE = (
    f"{ESTIMATED_MARK} Includes estimated days: the module sent no data for them, so its last "
    "reported quantity was carried forward (for at most 3 days). Data that arrives later "
    "replaces the estimate; any difference is invoiced or credited with a correction."
)


def _header(doc: InvoiceDocument, st: _Styles) -> list[Flowable]:
    row, seller, customer = doc.invoice, doc.parties.seller, doc.parties.customer
    title = TITLES[row.kind] + _MARKS.get(row.status, "")
    seller_lines = [
        seller.address,
        f"VAT/tax id: {seller.tax_id}" if seller.tax_id else "",
        seller.email or "",
    ]
    start, end = parse_period(row.period)
    facts = [
        ("Number", doc.display_number or "not yet posted"),
        ("Invoice date", _date(row.issued_on)),
        ("Period", f"{start.isoformat()} to {end.isoformat()}"),
        ("Currency", row.currency),
    ]
    if row.kind != InvoiceKind.CREDIT_NOTE:  # a credit note is not paid, so nothing falls due
        facts.insert(2, ("Due date", _date(row.due_on)))
    if doc.corrects_display_number is not None:
        facts.append(("Corrects invoice", doc.corrects_display_number))
    top = Table(
        [
            [
                [_p(seller.name, st.seller), _p("\n".join(x for x in seller_lines if x), st.body)],
                [_p(title, st.title)],
            ]
        ],
        colWidths=[100 * mm, 74 * mm],
    )
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    bill_to = [_p("Bill to", st.head), _p(customer.name, st.body)]
    if customer.external_ref:
        bill_to.append(_p(f"Customer reference: {customer.external_ref}", st.body))
    meta = Table(
        [[_p(k, st.head), _p(v, st.right)] for k, v in facts], colWidths=[34 * mm, 50 * mm]
    )
    meta.setStyle(
        TableStyle([("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)])
    )
    parties = Table([[bill_to, meta]], colWidths=[90 * mm, 84 * mm])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [top, Spacer(1, 8 * mm), parties, Spacer(1, 8 * mm)]


def _described(line: InvoiceLineRow, period: str, st: _Styles) -> tuple[list[Flowable], bool]:
    """The service cell: name (marked when it has estimated days), code, the days of a
    segment, the estimated days; and whether there are estimated days."""
    estimated = estimated_days(line, period)
    cell: list[Flowable] = [
        _p(line.description + (f" {ESTIMATED_MARK}" if estimated else ""), st.body),
        _p(line.service_code, st.small),
    ]
    days = segment(line, period)
    if days is not None:
        cell.append(_p(f"Days billed: {days[0]} to {days[1]}", st.small))
    if estimated:
        cell.append(_p(f"Estimated: {day_ranges(estimated)}", st.small))
    return cell, bool(estimated)


def _breakdown(line: InvoiceLineRow, cur: str, st: _Styles) -> list[list[object]]:
    """Rows under a line: its quantity per source, then how its amount came about."""
    sources = [
        (f"{_MODULE_NAMES.get(s.module, s.module)}: {s.metric.replace('_', ' ')}", s.quantity)
        for s in parse_sources(line.sources)
    ]
    parts = [(p.label, p.quantity, p.unit_price, p.amount) for p in pricing_rows(line, cur)]
    return [
        [
            "",
            _p(label, st.small),
            _p(_or_blank(units, lambda v: f"{quantity(v):,}"), st.small_right),
            _p(_or_blank(unit_price, lambda v: f"{price(v, cur):,}"), st.small_right),
            _p(_or_blank(amount, lambda v: amount_text(v, cur)), st.small_right),
        ]
        for label, units, unit_price, amount in [(*s, None, None) for s in sources] + parts
    ]


def _lines(doc: InvoiceDocument, st: _Styles) -> tuple[Table, bool]:
    """The lines table, and whether some line has estimated days (for the footnote)."""
    row, cur = doc.invoice, doc.invoice.currency
    data: list[list[object]] = [
        [
            _p("#", st.head),
            _p("Service", st.head),
            _p("Quantity", st.head_right),
            _p(f"Unit price ({cur})", st.head_right),
            _p(f"Amount ({cur})", st.head_right),
        ]
    ]
    styles: list[tuple[object, ...]] = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    any_estimated = False
    for i, line in enumerate(row.lines, start=1):
        first = len(data)
        described, estimated = _described(line, row.period, st)
        any_estimated = any_estimated or estimated
        data.append(
            [
                _p(str(i), st.body),
                described,
                _p(f"{quantity(line.quantity):,}", st.right),
                _p(f"{price(line.unit_price, cur):,}", st.right),
                _p(amount_text(line.amount, cur), st.right),
            ]
        )
        for breakdown in _breakdown(line, cur, st):
            data.append(breakdown)
            # Breakdown rows sit close under their line.
            styles += [
                ("TOPPADDING", (0, len(data) - 1), (-1, len(data) - 1), 0),
                ("BOTTOMPADDING", (0, len(data) - 1), (-1, len(data) - 1), 1),
            ]
        last = len(data) - 1
        styles += [
            ("LINEBELOW", (0, last), (-1, last), 0.25, colors.HexColor("#BBBBBB")),
            ("BOTTOMPADDING", (0, last), (-1, last), 4),
            # A page break never separates a line from its breakdown.
            ("NOSPLIT", (0, first), (-1, last)),
        ]
    if not row.lines:
        data.append(["", _p("No billable usage in this period.", st.body), "", "", ""])
    # The number column fits three digits: a 40-line invoice with breakdowns stays aligned.
    table = Table(data, colWidths=[11 * mm, 83 * mm, 24 * mm, 28 * mm, 28 * mm], repeatRows=1)
    table.setStyle(TableStyle(styles))
    return table, any_estimated


def _or_blank(value: Decimal | None, shown: Callable[[Decimal], str]) -> str:
    return "" if value is None else shown(value)


def quantity_note(doc: InvoiceDocument) -> str | None:
    """Why a quantity has decimals, with the document's own first such quantity as the
    example; None when every quantity is whole."""
    fractional = next(
        (
            line.quantity
            for line in doc.invoice.lines
            if line.quantity != line.quantity.to_integral()
        ),
        None,
    )
    if fractional is None:
        return None
    start, end = parse_period(doc.invoice.period)
    days = (end - start).days + 1
    shown = f"{quantity(abs(fractional)):,}"
    return (
        "Quantities with decimals are average daily units over the period: the units counted "
        f"on each billed day, added up and divided by the {days} days of the period. "
        f"{shown} means {shown} units a day on average, about "
        f"{(abs(fractional) * days).to_integral():,} unit-days."
    )


def _payment(doc: InvoiceDocument, st: _Styles) -> list[Flowable]:
    """How and by when to pay; a credit note says what happens to its credit instead."""
    row, seller = doc.invoice, doc.parties.seller
    if row.kind == InvoiceKind.CREDIT_NOTE:
        text = "This credit is applied to open invoices or refunded to you."
    elif row.due_on is not None:
        text = (
            f"Payment terms: {seller.payment_terms_days} days net. Please pay by "
            f"{row.due_on.isoformat()}, quoting the invoice number."
        )
    else:
        text = f"Payment terms: {seller.payment_terms_days} days net from the invoice date."
    flowables: list[Flowable] = [_p(text, st.body)]
    if seller.payment_details:
        flowables.append(_p(seller.payment_details, st.body))
    return flowables


def _totals(doc: InvoiceDocument, st: _Styles) -> Table:
    row, cur = doc.invoice, doc.invoice.currency
    percent = (row.tax_rate * 100).normalize()
    rows = [("Subtotal", row.subtotal), (f"Tax ({percent:f} %)", row.tax), ("Total", row.total)]
    if row.status in NUMBERED and row.kind != InvoiceKind.CREDIT_NOTE:
        rows += [("Paid or credited", row.total - row.balance), ("Balance due", row.balance)]
    data = [
        [
            _p(label, st.head if label == "Total" else st.body),
            _p(f"{amount_text(value, cur)} {cur}", st.head_right if label == "Total" else st.right),
        ]
        for label, value in rows
    ]
    table = Table(data, colWidths=[40 * mm, 40 * mm], hAlign="RIGHT")
    table.setStyle(TableStyle([("LINEABOVE", (0, 2), (-1, 2), 0.8, colors.black)]))
    return table


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The document; its number and the corrected invoice's as they were printed at
    posting."""
    st = _Styles()
    row = doc.invoice
    out = io.BytesIO()
    number = f" {doc.display_number}" if doc.display_number is not None else ""
    footer = doc.parties.seller.footer

    def page(canvas: Canvas, template: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(st.body.fontName, 7.5)
        canvas.drawString(18 * mm, 10 * mm, f"{TITLES[row.kind]}{number} - page {template.page}")
        canvas.restoreState()

    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{TITLES[row.kind]}{number}",
        author=doc.parties.seller.name,
        subject=f"{row.period} {doc.parties.customer.name}",
    )
    lines, any_estimated = _lines(doc, st)
    story = [*_header(doc, st), lines]
    notes = [quantity_note(doc), ESTIMATED_NOTE if any_estimated else None]
    for note in notes:
        if note:
            story += [Spacer(1, 2 * mm), _p(note, st.small)]
    # Totals and how to pay stay on one page, under the last lines.
    story += [
        KeepTogether([Spacer(1, 6 * mm), _totals(doc, st), Spacer(1, 6 * mm), *_payment(doc, st)])
    ]
    if footer:
        story += [Spacer(1, 10 * mm), _p(footer, st.small)]
    template.build(story, onFirstPage=page, onLaterPages=page)
    return out.getvalue()
