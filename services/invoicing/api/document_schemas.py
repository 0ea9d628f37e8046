"""The shapes of invoice documents the API answers (and ``invoice.posted`` carries), shared
by the invoice, payment and export routes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.queries import ListedInvoice
from services.invoicing.documents.shape import invoice_json
from shared.wire import Quantity, Rate, UtcDateTime


class SourceOut(BaseModel):
    module: str
    metric: str
    quantity: Quantity


class LineOut(BaseModel):
    """``quantity x unit_price`` rounds to ``amount`` unless ``pricing_detail`` says why not.
    ``unit_price`` is the contract's for ``per_unit`` pricing; for ``graduated`` and
    ``volume`` pricing it is the effective price, ``amount / quantity`` rounded to 4 digits
    (0 for a quantity of 0); a correction line shows the recomputed line's. Accounting
    exports write a line with ``pricing_detail`` as quantity 1 x amount."""

    id: str
    contract_id: str
    service_code: str
    description: str
    quantity: Quantity
    unit_price: Decimal
    amount: Decimal
    period_start: date = Field(description="The first day the line bills (its segment).")
    period_end: date = Field(description="The last day the line bills (its segment).")
    pricing_detail: dict[str, Any] | None = Field(
        default=None,
        description="Present where quantity x unit_price does not round to amount. A regular "
        "line: model, counting_basis, unit_price (per_unit), tiers used [{from, up_to, "
        "quantity, unit_price, amount}] (graduated; they add up to the line's quantity and "
        "amount) or chosen (volume, also as tier), minimum_units, minimum_applied, "
        "active_days (|A|) and days_in_period (D, the divisor). A correction line: "
        "difference {invoiced, recomputed} with their quantity and amount, and recomputed: "
        "the calculation of each recomputed line. Empty on lines written before "
        "calculations were kept.",
    )
    sources: list[SourceOut]


class SellerOut(BaseModel):
    name: str
    address: str
    tax_id: str | None
    email: str | None
    payment_details: str = ""


class CustomerOut(BaseModel):
    company_id: str
    name: str
    external_ref: str | None


class InvoiceSummary(BaseModel):
    id: str
    number: int | None
    kind: InvoiceKind
    corrects: str | None
    company_id: str
    company_name: str = Field(
        description="The company's name: as it stood at posting, for a draft as it is now "
        "(empty until the company's event reached invoicing)."
    )
    period: str
    currency: str
    status: InvoiceStatus
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    balance: Decimal
    unapplied: Decimal | None = Field(
        description="Credit notes: the credit not yet applied or refunded, as a positive "
        "amount (null for invoices and adjustments)."
    )
    overdue: bool = Field(
        description="The due date lies before today (tenant's zone) and the balance is not 0."
    )
    issued_on: date | None
    due_on: date | None


class InvoiceOut(InvoiceSummary):
    """Quantities and amounts are decimal strings: amounts in the currency's minor digits.
    ``issued_on`` (invoice date) and ``due_on`` are set at posting; ``seller`` and
    ``customer`` are frozen at posting too. Corrections (``adjustment``, ``credit_note``)
    name the posted invoice they correct in ``corrects`` and carry per-line differences."""

    lines: list[LineOut]
    tax_rate: Rate
    seller: SellerOut | None = None
    customer: CustomerOut | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    posted_at: UtcDateTime | None


def invoice_summary(listed: ListedInvoice, today: date) -> InvoiceSummary:
    body = invoice_json(listed.invoice, lines=False, today=today)
    return InvoiceSummary.model_validate({**body, "company_name": listed.company_name})
