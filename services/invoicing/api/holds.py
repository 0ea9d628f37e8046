"""Anomaly holds: the hold's public shape, and releasing a held draft."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.api.deps import Caller, Defaults, Runtime
from services.invoicing.api.document_schemas import HoldOut, HoldReasonOut, InvoiceOut
from services.invoicing.assurance import holds
from services.invoicing.documents import queries
from services.invoicing.documents.lifecycle import InvoiceStatus
from services.invoicing.documents.queries import ShownInvoice
from services.invoicing.documents.shape import invoice_json

router = APIRouter(prefix="/v1", tags=["invoices"])


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(min_length=1, max_length=2000, description="why the quantities are right")


def hold_out(hold: holds.Hold | None) -> HoldOut | None:
    if hold is None:
        return None
    return HoldOut(
        reasons=[
            HoldReasonOut(
                line_id=r.line_id,
                service_code=r.service_code,
                quantity=r.quantity,
                baseline=r.baseline,
            )
            for r in hold.reasons
        ],
        released_by=hold.released_by,
        released_at=hold.released_at,
        note=hold.note,
    )


async def invoice_out(session: AsyncSession, shown: ShownInvoice) -> InvoiceOut:
    """The invoice as the API answers it: a draft with its hold, if any."""
    out = InvoiceOut.model_validate(invoice_json(shown.invoice, shown.parties))
    if shown.invoice.status == InvoiceStatus.DRAFT:
        out.hold = hold_out(await holds.hold_of(session, shown.invoice.id))
    return out


@router.post("/invoices/{invoice_id}/release", response_model=InvoiceOut)
async def release_invoice(
    invoice_id: str, body: Release, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> InvoiceOut:
    """Releases a held draft for posting. The release lasts while the anomalous lines keep
    their quantities; a billing run that changes one holds the draft again."""
    async with runtime.transaction() as session:
        await holds.release(session, ctx.tenant_id, invoice_id, key_id=ctx.key_id, note=body.note)
        shown = await queries.show_invoice(session, ctx.tenant_id, invoice_id, defaults)
        return await invoice_out(session, shown)
