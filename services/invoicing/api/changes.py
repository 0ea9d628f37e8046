"""What the audit keeps of an invoice around a change of its state: its lifecycle fields, not
its lines (those follow from the contracts and the unit table, both audited themselves)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.api.document_schemas import invoice_summary
from services.invoicing.documents.queries import ListedInvoice, company_name
from services.invoicing.models import InvoiceRow
from shared.changes import changed

STATE = ("id", "number", "kind", "status", "total", "balance", "issued_on", "due_on", "hold")
RESOURCE = "invoices"


def invoice_state(invoice: BaseModel | InvoiceRow) -> dict[str, Any]:
    if isinstance(invoice, InvoiceRow):
        today = datetime.now(UTC).date()  # ``overdue`` is not part of the state kept
        invoice = invoice_summary(ListedInvoice(invoice, company_name(invoice, None)), today)
    dumped = invoice.model_dump(mode="json")
    return {field: dumped[field] for field in STATE if field in dumped}


async def state_before(session: AsyncSession, tenant_id: str, invoice_id: str) -> Any:
    """The invoice's state now (None if the tenant has no such invoice: the use case refuses)."""
    row = await session.get(InvoiceRow, invoice_id)
    return None if row is None or row.tenant_id != tenant_id else invoice_state(row)


def invoice_changed(
    invoice_id: str, action: str, before: Any, after: BaseModel | InvoiceRow
) -> None:
    changed(RESOURCE, invoice_id, action, before, invoice_state(after))
