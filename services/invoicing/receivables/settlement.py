"""A posted document's status follows its balance: ``paid`` at 0, ``posted`` again when
something reopens it. The events of the receivables carry the result."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.invoicing.documents import lifecycle
from services.invoicing.documents.formatting import money
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.models import InvoiceRow
from shared.events import Event, InvoicePaid


def unapplied(row: InvoiceRow) -> Decimal | None:
    """A credit note's credit not yet applied or refunded (positive); None for other kinds."""
    if row.kind != InvoiceKind.CREDIT_NOTE:
        return None
    return money(-row.balance, row.currency)


def balance_fields(row: InvoiceRow) -> dict[str, Any]:
    """What every receivables event says about the document it changed."""
    return {
        "invoice_id": row.id,
        "company_id": row.company_id,
        "currency": row.currency,
        "status": row.status.value,
        "balance": money(row.balance, row.currency),
    }


def settle(row: InvoiceRow) -> list[Event]:
    """The status after the balance: ``paid`` at 0 (with ``invoice.paid`` to publish after
    the event that paid it), ``posted`` again when a paid document's balance reopens."""
    if row.balance == 0 and row.status == InvoiceStatus.POSTED:
        row.status = lifecycle.advance(row.status, InvoiceStatus.PAID)
        return [InvoicePaid(**balance_fields(row))]
    if row.balance != 0 and row.status == InvoiceStatus.PAID:
        row.status = lifecycle.advance(row.status, InvoiceStatus.POSTED)
    return []


def move(row: InvoiceRow, delta: Decimal, now: datetime) -> list[Event]:
    """Moves the balance by ``delta`` and the status after it (:func:`settle`)."""
    row.balance += delta
    row.updated_at = now
    return settle(row)
