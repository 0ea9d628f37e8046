"""Invoices as CSV for accounting import: one row per line, every row self-contained.

Columns: the document (type, number, the number it corrects, status, invoice and due date,
period and its first and last day, currency), the customer (company id, name, external
reference), the line (number, service code, description, per-source quantities, quantity,
unit price, net amount, tax rate, its share of the tax, gross amount) and the document's
totals (subtotal, tax, total, balance), then ids, then the line's own period (its segment)
and its quantity and unit price as the invoice shows them, then the document's number and
the corrected invoice's as printed (the tenant's format). Every row multiplies out:
``quantity x unit_price`` rounds to ``amount``; a line that does not (tiers, minimums,
proration) is written as quantity 1 x amount (:func:`~services.invoicing.billing.accounting_terms`).
Decimals use a point and the currency's minor digits; dates are ISO 8601. A document without
lines gives one row with empty line columns, so every posted number appears. Line tax
shares: :mod:`.tax_shares`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal

from services.invoicing.billing import accounting_terms, parse_period
from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.tax_shares import tax_shares
from services.invoicing.documents.formatting import money, price, quantity, rate
from services.invoicing.documents.shape import line_period

COLUMNS = (
    "document_type",
    "invoice_number",
    "corrects_invoice_number",
    "status",
    "invoice_date",
    "due_date",
    "period",
    "period_start",
    "period_end",
    "currency",
    "company_id",
    "company_name",
    "company_external_ref",
    "line_number",
    "service_code",
    "description",
    "sources",
    "quantity",
    "unit_price",
    "amount",
    "tax_rate",
    "line_tax",
    "line_gross",
    "invoice_subtotal",
    "invoice_tax",
    "invoice_total",
    "invoice_balance",
    "invoice_id",
    "line_id",
    "contract_id",
    "line_period_start",
    "line_period_end",
    "line_quantity",
    "line_unit_price",
    "display_number",
    "corrects_display_number",
)


def _sources(stored: Sequence[Mapping[str, str]]) -> str:
    return "; ".join(
        f"{s['module']}/{s['metric']}={quantity(Decimal(s['quantity']))}" for s in stored
    )


def _rows(doc: InvoiceDocument) -> Iterator[list[object]]:
    row, customer = doc.invoice, doc.parties.customer
    cur = row.currency
    start, end = parse_period(row.period)
    head = [
        row.kind,
        row.number or "",
        doc.corrects_number or "",
        row.status,
        row.issued_on or "",
        row.due_on or "",
        row.period,
        start,
        end,
        cur,
        customer.company_id,
        customer.name,
        customer.external_ref or "",
    ]
    tail = [
        money(row.subtotal, cur),
        money(row.tax, cur),
        money(row.total, cur),
        money(row.balance, cur),
        row.id,
    ]
    printed = [doc.display_number or "", doc.corrects_display_number or ""]
    if not row.lines:
        yield [*head, *[""] * 10, *tail, *[""] * 6, *printed]
        return
    shares = tax_shares([line.amount for line in row.lines], row.tax, row.tax_rate, cur)
    for i, (line, share) in enumerate(zip(row.lines, shares, strict=True), start=1):
        amount = money(line.amount, cur)
        units, unit_price = accounting_terms(line.quantity, line.unit_price, line.amount, cur)
        yield [
            *head,
            i,
            line.service_code,
            line.description,
            _sources(line.sources),
            quantity(units),
            price(unit_price, cur),
            amount,
            rate(row.tax_rate),
            money(share, cur),
            money(amount + share, cur),
            *tail,
            line.id,
            line.contract_id,
            *line_period(line, row.period),
            quantity(line.quantity),
            price(line.unit_price, cur),
            *printed,
        ]


def invoices_csv(documents: Iterable[InvoiceDocument]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for doc in documents:
        writer.writerows(_rows(doc))
    return out.getvalue()
