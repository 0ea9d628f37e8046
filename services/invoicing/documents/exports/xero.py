"""Xero sales invoice import: the columns of Xero's "SalesInvoiceTemplate.csv" (Business >
Invoices > Import, template as of 2024), one row per invoice line, amounts tax exclusive.

Dates are DD/MM/YYYY as the template asks; a credit note is written with negative
quantities or prices (Xero imports a document with a negative total as a credit note);
rows multiply out (Quantity x UnitAmount = the line amount).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from services.invoicing.accounting.service import AccountingSettings
from services.invoicing.documents.exports.booking_lines import booking_lines, require_settings
from services.invoicing.documents.exports.document import InvoiceDocument

LAYOUT = "Xero SalesInvoiceTemplate.csv (2024)"
COLUMNS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
DATE = "%d/%m/%Y"


def xero_csv(documents: Sequence[InvoiceDocument], settings: AccountingSettings) -> str:
    require_settings(settings, "Xero")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in booking_lines(documents, settings):
        row = dict.fromkeys(COLUMNS, "")
        row["*ContactName"] = line.document.parties.customer.name
        row["*InvoiceNumber"] = line.number
        row["Reference"] = line.document.invoice.period
        row["*InvoiceDate"] = line.issued_on.strftime(DATE)
        row["*DueDate"] = line.due_on.strftime(DATE)
        row["InventoryItemCode"] = line.service_code
        row["*Description"] = line.description
        row["*Quantity"] = str(line.quantity)
        row["*UnitAmount"] = str(line.unit_price)
        row["*AccountCode"] = line.revenue_account or ""
        row["*TaxType"] = line.tax_code or ""
        row["Currency"] = line.currency
        writer.writerow(row.values())
    return out.getvalue()
