"""The shapes of invoice documents the API answers (and ``invoice.posted`` carries), shared
by the invoice, payment and export routes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
    id: str
    contract_id: str
    service_code: str
    description: str
    quantity: Quantity
    unit_price: Decimal
    amount: Decimal
    sources: list[SourceOut]


class SellerOut(BaseModel):
    name: str
    address: str
    tax_id: str | None
    email: str | None


class CustomerOut(BaseModel):
    company_id: str
    name: str
    external_ref: str | None


class HoldReasonOut(BaseModel):
    line_id: str | None = Field(description="null when the service's quantity fell to 0")
    service_code: str
    quantity: Quantity
    baseline: Quantity


class HoldOut(BaseModel):
    """Why a draft waits for review before it can be posted, and who released it."""

    reasons: list[HoldReasonOut]
    released_by: str | None = None
    released_at: UtcDateTime | None = None
    note: str | None = None


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
    issued_on: date | None
    due_on: date | None
    hold: HoldOut | None = Field(
        default=None,
        description="The anomalies holding a draft (PRODUCT.md section 11); null when none.",
    )


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


def invoice_summary(listed: ListedInvoice) -> InvoiceSummary:
    body = invoice_json(listed.invoice, lines=False)
    return InvoiceSummary.model_validate({**body, "company_name": listed.company_name})
