"""QuickBooks Online invoice import (Settings > Import data > Invoices): the column headers
of Intuit's sample file that QuickBooks maps without manual mapping (layout of 2024), one row
per invoice line; rows of one invoice share ``*InvoiceNo``.

Dates are MM/DD/YYYY (choose that format in the import); ItemQuantity x ItemRate =
ItemAmount on every row; the tax code of the invoice's rate from the accounting settings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from services.invoicing.accounting.service import AccountingSettings
from services.invoicing.documents.exports.booking_lines import booking_lines
from services.invoicing.documents.exports.document import InvoiceDocument

LAYOUT = "QuickBooks Online invoice import sample (2024)"
COLUMNS = (
    "*InvoiceNo",
    "*Customer",
    "*InvoiceDate",
    "*DueDate",
    "Terms",
    "Location",
    "Memo",
    "Item(Product/Service)",
    "ItemDescription",
    "ItemQuantity",
    "ItemRate",
    "*ItemAmount",
    "*ItemTaxCode",
    "ItemTaxAmount",
    "Currency",
    "Service Date",
)
DATE = "%m/%d/%Y"


def quickbooks_csv(documents: Sequence[InvoiceDocument], settings: AccountingSettings) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in booking_lines(documents, settings):
        invoice = line.document.invoice
        terms_days = (line.due_on - line.issued_on).days
        writer.writerow(
            [
                line.number,
                line.document.parties.customer.name,
                line.issued_on.strftime(DATE),
                line.due_on.strftime(DATE),
                f"Net {terms_days}",
                "",
                f"{invoice.kind.replace('_', ' ')} {invoice.period}",
                line.service_code,
                line.description,
                str(line.quantity),
                str(line.unit_price),
                str(line.amount),
                line.tax_code or "",
                str(line.tax),
                line.currency,
                line.issued_on.strftime(DATE),
            ]
        )
    return out.getvalue()
