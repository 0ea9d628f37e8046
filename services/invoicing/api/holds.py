"""Anomaly holds: the hold's public shape, and releasing a held draft."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.api.deps import Caller, Defaults, Runtime, Today
from services.invoicing.api.document_schemas import HoldOut, HoldReasonOut, InvoiceOut
from services.invoicing.assurance import holds
from services.invoicing.documents import queries
from services.invoicing.documents.lifecycle import InvoiceStatus
from services.invoicing.documents.queries import ShownInvoice
from services.invoicing.documents.shape import invoice_json
from shared.openapi_docs import ApiModel, examples

router = APIRouter(prefix="/v1", tags=["invoices"])


class Release(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {"note": "The customer added 40 laptops in October; confirmed by phone."}
        ),
    )
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


async def invoice_out(session: AsyncSession, shown: ShownInvoice, today: date) -> InvoiceOut:
    """The invoice as the API answers it: a draft with its hold, if any; ``overdue`` as of
    ``today``."""
    out = InvoiceOut.model_validate(invoice_json(shown.invoice, shown.parties, today=today))
    if shown.invoice.status == InvoiceStatus.DRAFT:
        out.hold = hold_out(await holds.hold_of(session, shown.invoice.id))
    return out


@router.post(
    "/invoices/{invoice_id}/release", response_model=InvoiceOut, summary="Release a held draft"
)
async def release_invoice(
    invoice_id: str,
    body: Release,
    ctx: Caller,
    runtime: Runtime,
    defaults: Defaults,
    today: Today,
) -> InvoiceOut:
    """Releases a held draft for posting. The release lasts while the anomalous lines keep
    their quantities; a billing run that changes one holds the draft again."""
    async with runtime.transaction() as session:
        await holds.release(session, ctx.tenant_id, invoice_id, key_id=ctx.key_id, note=body.note)
        shown = await queries.show_invoice(session, ctx.tenant_id, invoice_id, defaults)
        return await invoice_out(session, shown, today)
