"""Invoices as files: one invoice as CSV or PDF, a period's numbered documents as CSV or JSON.

PDF rendering is short CPU work: it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.accounting.service import accounting_settings
from services.invoicing.documents.exports.csv_rows import invoices_csv
from services.invoicing.documents.exports.datev import datev_csv
from services.invoicing.documents.exports.document import invoice_document, period_documents
from services.invoicing.documents.exports.pdf import invoice_pdf
from services.invoicing.documents.exports.quickbooks import quickbooks_csv
from services.invoicing.documents.exports.xero import xero_csv
from services.invoicing.documents.parties import SellerDefaults
from services.invoicing.documents.queries import load_invoice
from services.invoicing.documents.shape import invoice_document_json

CSV = "text/csv; charset=utf-8"
PDF = "application/pdf"
JSON = "application/json"


@dataclass(frozen=True)
class InvoiceFile:
    content: bytes | str
    media_type: str
    filename: str


async def invoice_file(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    format: Literal["csv", "pdf"],
    defaults: SellerDefaults,
) -> InvoiceFile:
    """CSV: one row per line, as in the period export. The file is named by the kind and the
    number as printed (a draft by its id)."""
    row = await load_invoice(session, tenant_id, invoice_id)
    document = await invoice_document(session, row, defaults)
    name = f"{row.kind.replace('_', '-')}-{(document.display_number or row.id).replace('/', '-')}"
    if format == "csv":
        return InvoiceFile(invoices_csv([document]), CSV, f"{name}.csv")
    pdf = await asyncio.to_thread(invoice_pdf, document)
    return InvoiceFile(pdf, PDF, f"{name}.pdf")


async def period_export(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    format: Literal["csv", "json"],
    defaults: SellerDefaults,
    *,
    today: date,
    include_void: bool = False,
) -> InvoiceFile:
    """Every numbered document of the period in number order (:func:`period_documents`)."""
    documents = await period_documents(
        session, tenant_id, period, defaults, include_void=include_void
    )
    name = f"invoices-{period}"
    if format == "csv":
        return InvoiceFile(invoices_csv(documents), CSV, f"{name}.csv")
    body = [invoice_document_json(d.invoice, d.parties, today=today) for d in documents]
    return InvoiceFile(orjson.dumps({"period": period, "invoices": body}), JSON, f"{name}.json")


AccountingFormat = Literal["datev", "xero", "quickbooks"]


async def accounting_export(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    format: AccountingFormat,
    defaults: SellerDefaults,
    now: datetime,
) -> InvoiceFile:
    """The period's posted and paid documents in a bookkeeping system's import layout, with
    the tenant's accounts and tax codes."""
    settings = await accounting_settings(session, tenant_id)
    documents = await period_documents(session, tenant_id, period, defaults)
    if format == "datev":
        content: bytes | str = datev_csv(documents, settings, period, now)
        return InvoiceFile(
            content, "text/csv; charset=windows-1252", f"EXTF_Buchungsstapel_{period}.csv"
        )
    if format == "xero":
        content = xero_csv(documents, settings)
    else:
        content = quickbooks_csv(documents, settings)
    return InvoiceFile(content, CSV, f"{format}-invoices-{period}.csv")
