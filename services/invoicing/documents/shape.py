"""The public shape of an invoice: what the API answers, ``invoice.posted`` carries and the
JSON export writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from pydantic_core import to_jsonable_python

from services.invoicing.billing import multiplies_out, parse_period
from services.invoicing.documents.formatting import money, price, quantity, rate, utc
from services.invoicing.documents.numbering import shown_number
from services.invoicing.documents.parties import Parties
from services.invoicing.models import InvoiceLineRow, InvoiceRow
from services.invoicing.receivables.overdue import is_overdue
from services.invoicing.receivables.settlement import unapplied


def pricing_detail(line: InvoiceLineRow, currency: str) -> dict[str, Any] | None:
    """Why ``quantity x unit_price`` does not round to ``amount`` (None when it does): the
    line's calculation without the days that are not the line's (those are for
    ``explain``); an empty object on lines written before calculations were kept."""
    if multiplies_out(line.quantity, line.unit_price, line.amount, currency):
        return None
    return {k: v for k, v in (line.calculation or {}).items() if k != "excluded"}


def line_period(line: InvoiceLineRow, period: str) -> tuple[date, date]:
    """The line's segment; the period's days for lines written before segments."""
    start, end = parse_period(period)
    return line.period_start or start, line.period_end or end


def invoice_json(
    row: InvoiceRow, parties: Parties | None = None, *, today: date, lines: bool = True
) -> dict[str, Any]:
    """The public shape; with ``parties``, the company's name and the seller and customer
    blocks too. ``overdue`` as of ``today`` (in the tenant's zone). ``hold`` is a draft's
    (the API fills it in); a posted document has none."""
    cur = row.currency
    periods = [line_period(line, row.period) for line in row.lines] if lines else []
    body: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "display_number": shown_number(row),
        "kind": row.kind,
        "corrects": row.corrects,
        "company_id": row.company_id,
        "period": row.period,
        "currency": row.currency,
        "status": row.status,
        "lines": [
            {
                "id": line.id,
                "contract_id": line.contract_id,
                "service_code": line.service_code,
                "description": line.description,
                "quantity": quantity(line.quantity),
                "unit_price": price(line.unit_price, cur),
                "amount": money(line.amount, cur),
                "period_start": start,
                "period_end": end,
                "pricing_detail": pricing_detail(line, cur),
                "sources": [
                    {
                        "module": s["module"],
                        "metric": s["metric"],
                        "quantity": quantity(Decimal(s["quantity"])),
                    }
                    for s in line.sources
                ],
            }
            for line, (start, end) in zip(row.lines, periods, strict=True)
        ]
        if lines
        else [],
        "subtotal": money(row.subtotal, cur),
        "tax_rate": rate(row.tax_rate),
        "tax": money(row.tax, cur),
        "total": money(row.total, cur),
        "balance": money(row.balance, cur),
        "unapplied": unapplied(row),
        "overdue": is_overdue(row, today),
        "issued_on": row.issued_on,
        "due_on": row.due_on,
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
        "posted_at": utc(row.posted_at),
        "hold": None,
    }
    if parties is not None:
        seller, customer = parties.seller, parties.customer
        body["company_name"] = customer.name
        body["seller"] = {
            "name": seller.name,
            "address": seller.address,
            "tax_id": seller.tax_id,
            "email": seller.email,
            "payment_details": seller.payment_details,
        }
        body["customer"] = {
            "company_id": customer.company_id,
            "name": customer.name,
            "external_ref": customer.external_ref,
        }
    return body


def invoice_document_json(row: InvoiceRow, parties: Parties, *, today: date) -> dict[str, Any]:
    """:func:`invoice_json` in JSON values (decimals as strings, ISO dates): the invoice as
    ``GET /v1/invoices/{id}`` shows it."""
    return cast(dict[str, Any], to_jsonable_python(invoice_json(row, parties, today=today)))
