"""The shapes of invoice documents the API answers (and ``invoice.posted`` carries), shared
by the invoice, payment and export routes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field

from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.queries import ListedInvoice
from services.invoicing.documents.shape import invoice_json
from shared.openapi_docs import ApiModel
from shared.wire import Quantity, Rate, UtcDateTime


class SourceOut(ApiModel):
    module: str
    """The catalog id of the module counted."""
    metric: str
    """The catalog id of the metric counted."""
    quantity: Quantity
    """This source's share of the line's shown quantity."""


class LineOut(ApiModel):
    """``quantity x unit_price`` rounds to ``amount`` unless ``pricing_detail`` says why not.
    ``unit_price`` is the contract's for ``per_unit`` pricing; for ``graduated`` and
    ``volume`` pricing it is the effective price, ``amount / quantity`` rounded to 4 digits
    (0 for a quantity of 0); a correction line shows the recomputed line's. Accounting
    exports write a line with ``pricing_detail`` as quantity 1 x amount."""

    id: str
    """The line's id (``GET .../lines/{line_id}/explain``)."""
    contract_id: str
    """The contract whose service the line bills."""
    service_code: str
    """The contract service billed."""
    description: str
    """The service's name, as printed."""
    quantity: Quantity
    """The billed quantity (section 4 of the product contract: the month's average, peak
    or last day, by the service's counting basis); a correction's is the difference."""
    unit_price: Decimal
    """The price of a unit, without trailing zeros but never fewer digits than the
    currency's."""
    amount: Decimal
    """The line's amount in the currency's minor digits; a credit note's is negative."""
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
    """Per ``(module, metric)`` feeding the service, its quantity."""


class SellerOut(ApiModel):
    name: str
    """The seller's name."""
    address: str
    """The seller's postal address."""
    tax_id: str | None
    """The seller's tax or VAT id."""
    email: str | None
    """Where customers write about invoices."""
    payment_details: str = ""
    """How to pay: bank, IBAN, BIC, or a payment link."""


class CustomerOut(ApiModel):
    company_id: str
    """The company billed."""
    name: str
    """Its name."""
    external_ref: str | None
    """Its id in the MSP's other systems."""


class HoldReasonOut(ApiModel):
    line_id: str | None = Field(description="null when the service's quantity fell to 0")
    service_code: str
    """The contract service whose quantity is anomalous."""
    quantity: Quantity
    """The draft's quantity of the service."""
    baseline: Quantity
    """The median quantity of its last (up to 3) invoiced periods."""


class HoldOut(ApiModel):
    """Why a draft waits for review before it can be posted, and who released it."""

    reasons: list[HoldReasonOut]
    """Each anomalous service."""
    released_by: str | None = None
    """The id of the key that released the hold; null while it holds."""
    released_at: UtcDateTime | None = None
    """When it was released."""
    note: str | None = None
    """Why the releaser judged the quantities right."""


class InvoiceSummary(ApiModel):
    id: str
    """The document's id."""
    number: int | None
    """Its number in the tenant's gapless sequence, given at posting; null for a draft."""
    display_number: str | None = None
    """The number as the document prints it, in the tenant's ``invoice_number_format`` at
    posting (``INV-2026-00042``); null for a draft. Accounting exports use it as the
    document number."""
    kind: InvoiceKind
    """`invoice`, or a correction of a posted one: `adjustment` (it bills more or the same)
    or `credit_note` (it bills less)."""
    corrects: str | None
    """A correction: the id of the posted invoice it corrects; null for an invoice."""
    company_id: str
    """The company billed."""
    company_name: str = Field(
        description="The company's name: as it stood at posting, for a draft as it is now "
        "(empty until the company's event reached invoicing)."
    )
    period: str
    """The month billed, YYYY-MM."""
    currency: str
    """The ISO 4217 currency of every amount."""
    status: InvoiceStatus
    """`draft` (refreshed by billing runs), `posted` (numbered, frozen), `paid` (balance 0)
    or `void`."""
    subtotal: Decimal
    """The sum of the line amounts."""
    tax: Decimal
    """The subtotal times the tax rate, rounded half-up to the minor unit."""
    total: Decimal
    """Subtotal plus tax."""
    balance: Decimal
    """What is still owed: the total less payments."""
    unapplied: Decimal | None = Field(
        description="Credit notes: the credit not yet applied or refunded, as a positive "
        "amount (null for invoices and adjustments)."
    )
    overdue: bool = Field(
        description="The due date lies before today (tenant's zone) and the balance is not 0."
    )
    issued_on: date | None
    """The invoice date, set at posting."""
    due_on: date | None
    """The due date (invoice date plus the payment terms), set at posting."""
    hold: HoldOut | None = Field(
        default=None,
        description="A draft's anomalous services, which hold it back from posting until "
        "released; null when none (and on posted documents).",
    )


class InvoiceOut(InvoiceSummary):
    """Quantities and amounts are decimal strings: amounts in the currency's minor digits.
    ``issued_on`` (invoice date) and ``due_on`` are set at posting; ``seller`` and
    ``customer`` are frozen at posting too. Corrections (``adjustment``, ``credit_note``)
    name the posted invoice they correct in ``corrects`` and carry per-line differences."""

    lines: list[LineOut]
    """One per contract service with a non-zero amount or quantity."""
    tax_rate: Rate
    """The company's tax rate applied, a fraction."""
    seller: SellerOut | None = None
    """The seller as printed: frozen at posting, the current profile for a draft."""
    customer: CustomerOut | None = None
    """The customer as printed: frozen at posting, the company as it is for a draft."""
    created_at: UtcDateTime
    """When the document was created."""
    updated_at: UtcDateTime
    """When it last changed."""
    posted_at: UtcDateTime | None
    """When it was posted; null for a draft."""


def invoice_summary(listed: ListedInvoice, today: date) -> InvoiceSummary:
    body = invoice_json(listed.invoice, lines=False, today=today)
    return InvoiceSummary.model_validate({**body, "company_name": listed.company_name})
