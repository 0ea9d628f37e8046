"""DATEV "Buchungsstapel" in the EXTF format: header version 700, data category 21, format
version 13, as published in DATEV's "Formatbeschreibung DATEV-Format" (developer.datev.de,
dtvf/formate/buchungsstapel).

One booking per invoice line: the debtor account of the company (Konto) against the revenue
account of the line's service code (Gegenkonto), the gross amount (net plus the line's share
of the tax, :mod:`.tax_shares`) without sign, "S" for invoices and adjustments, "H" for credit
notes, the tax key of the invoice's rate as BU-Schlüssel. The file is semicolon-separated,
CRLF, Windows-1252, decimals with a comma, text in double quotes; the first 14 data columns
of the layout are written (DATEV maps columns by position and leaves the rest empty).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from services.invoicing.accounting.service import AccountingSettings
from services.invoicing.billing import parse_period
from services.invoicing.documents.exports.booking_lines import (
    BookingLine,
    booking_lines,
    require_settings,
)
from services.invoicing.documents.exports.document import InvoiceDocument
from shared.problems import Conflict

LAYOUT = "DATEV-Format EXTF 700, Buchungsstapel (category 21) format version 13"
HEADER_VERSION = 700
CATEGORY = 21
FORMAT_NAME = "Buchungsstapel"
FORMAT_VERSION = 13
ENCODING = "cp1252"
COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
)


def _text(value: str, limit: int) -> str:
    return '"' + value[:limit].replace('"', "'") + '"'


def _amount(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def header(
    settings: AccountingSettings, period: str, created: datetime, currency: str
) -> list[str]:
    """The 31 fields of the first line."""
    start, end = parse_period(period)
    fiscal_year_start = date(start.year, 1, 1)
    return [
        '"EXTF"',
        str(HEADER_VERSION),
        str(CATEGORY),
        _text(FORMAT_NAME, 30),
        str(FORMAT_VERSION),
        created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",
        "",
        '"RE"',
        _text("ICB", 25),
        '""',
        settings.datev_consultant_number or "",
        settings.datev_client_number or "",
        fiscal_year_start.strftime("%Y%m%d"),
        str(settings.datev_account_length),
        start.strftime("%Y%m%d"),
        end.strftime("%Y%m%d"),
        _text(f"Rechnungen {period}", 30),
        '""',
        "1",
        "0",
        "0",
        _text(currency, 3),
        "",
        '""',
        "",
        "",
        '""',
        "",
        '""',
        '""',
        '""',
    ]


def booking(line: BookingLine, debtor: str) -> list[str]:
    return [
        _amount(line.gross),
        '"H"' if line.gross < 0 or line.is_credit else '"S"',
        _text(line.currency, 3),
        "",
        "",
        '""',
        debtor,
        line.revenue_account or "",
        _text(line.tax_code or "", 4),
        line.issued_on.strftime("%d%m"),
        _text(line.number, 36),
        _text(line.due_on.strftime("%d%m%y"), 12),
        "",
        _text(line.description, 60),
    ]


def datev_csv(
    documents: Sequence[InvoiceDocument],
    settings: AccountingSettings,
    period: str,
    created: datetime,
) -> bytes:
    require_settings(settings, "DATEV")
    missing = sorted({d.invoice.company_id for d in documents} - settings.debtor_accounts.keys())
    if missing:
        raise Conflict(
            "The DATEV export needs a debtor account for every company; none is set for "
            f"{', '.join(missing)} (PUT /v1/accounting/settings, debtor_accounts)."
        )
    currency = documents[0].invoice.currency if documents else "EUR"
    out = io.StringIO()
    out.write(";".join(header(settings, period, created, currency)) + "\r\n")
    out.write(";".join(_text(c, 100) for c in COLUMNS) + "\r\n")
    for line in booking_lines(documents, settings):
        debtor = settings.debtor_accounts[line.document.invoice.company_id]
        out.write(";".join(booking(line, debtor)) + "\r\n")
    return out.getvalue().encode(ENCODING, errors="replace")
