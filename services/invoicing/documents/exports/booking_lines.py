"""The lines of a period's numbered documents as bookkeeping exports need them: every line
with its tax share, gross amount, a quantity and unit price that multiply out to its amount,
and the revenue account and tax code of the tenant's accounting settings. The document number
is the one the document prints (``display_number``), so the customer's copy and the books
agree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.invoicing.accounting.service import AccountingSettings
from services.invoicing.documents.exports.document import InvoiceDocument
from services.invoicing.documents.exports.multiply import exported_quantity_and_price
from services.invoicing.documents.exports.tax_shares import tax_shares
from services.invoicing.documents.formatting import money, price, quantity
from shared.problems import Conflict


@dataclass(frozen=True)
class BookingLine:
    document: InvoiceDocument
    number: str
    issued_on: date
    due_on: date
    description: str
    service_code: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax: Decimal
    revenue_account: str | None
    tax_code: str | None

    @property
    def currency(self) -> str:
        return self.document.invoice.currency

    @property
    def gross(self) -> Decimal:
        return self.amount + self.tax

    @property
    def is_credit(self) -> bool:
        return self.document.invoice.kind == "credit_note"


def booking_lines(
    documents: Sequence[InvoiceDocument], settings: AccountingSettings
) -> Iterator[BookingLine]:
    for doc in documents:
        row = doc.invoice
        number = doc.display_number
        assert number is not None and row.issued_on is not None and row.due_on is not None
        cur = row.currency
        shares = tax_shares([line.amount for line in row.lines], row.tax, row.tax_rate, cur)
        for line, share in zip(row.lines, shares, strict=True):
            amount = money(line.amount, cur)
            qty, unit = exported_quantity_and_price(
                quantity(line.quantity), price(line.unit_price, cur), amount, cur
            )
            yield BookingLine(
                document=doc,
                number=number,
                issued_on=row.issued_on,
                due_on=row.due_on,
                description=line.description,
                service_code=line.service_code,
                quantity=qty,
                unit_price=unit,
                amount=amount,
                tax=money(share, cur),
                revenue_account=settings.revenue_account(line.service_code),
                tax_code=settings.tax_code(row.tax_rate),
            )


def require_settings(settings: AccountingSettings, export: str) -> None:
    if not settings.configured:
        raise Conflict(
            f"The {export} export needs revenue accounts: set them first with "
            "PUT /v1/accounting/settings."
        )
