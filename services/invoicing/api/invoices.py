"""Invoices: list, read (JSON, CSV or PDF), explain a line, post, void."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from services.invoicing.api.changes import invoice_changed, state_before
from services.invoicing.api.deps import Caller, Defaults, Paging, Runtime
from services.invoicing.api.document_schemas import InvoiceOut, InvoiceSummary, invoice_summary
from services.invoicing.api.negotiation import negotiate
from services.invoicing.documents import posting, queries, voiding
from services.invoicing.documents.exports.files import InvoiceFile, invoice_file
from services.invoicing.documents.formatting import money, quantity
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.queries import InvoiceFilter, ShownInvoice
from services.invoicing.documents.shape import invoice_json
from shared.pagination import Page
from shared.wire import Period, Quantity

router = APIRouter(prefix="/v1", tags=["invoices"])


class DayOut(BaseModel):
    date: date
    quantity: Quantity
    estimated: bool


class ExplainSource(BaseModel):
    module: str
    metric: str
    days: list[DayOut]


class ExplainOut(BaseModel):
    """For a correction line: the recomputed series the correction brings the period to."""

    invoice_id: str
    line_id: str
    service_code: str
    quantity: Quantity
    amount: Decimal
    sources: list[ExplainSource]


def invoice_out(shown: ShownInvoice) -> InvoiceOut:
    return InvoiceOut.model_validate(invoice_json(shown.invoice, shown.parties))


def file_response(file: InvoiceFile) -> Response:
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/invoices", response_model=Page[InvoiceSummary])
async def list_invoices(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    period: Annotated[Period | None, Query()] = None,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
    status: InvoiceStatus | None = None,
    kind: InvoiceKind | None = None,
) -> Page[InvoiceSummary]:
    where = InvoiceFilter(period, company_id, status, kind)
    async with runtime.sessions() as session:
        page = await queries.list_invoices(session, ctx.tenant_id, where, paging)
    return Page(
        items=[invoice_summary(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    responses={
        200: {
            "content": {"text/csv": {}, "application/pdf": {}},
            "description": "The invoice as JSON, CSV (one row per line) or PDF, "
            "as the Accept header asks.",
        }
    },
)
async def get_invoice(
    invoice_id: str,
    ctx: Caller,
    runtime: Runtime,
    defaults: Defaults,
    accept: Annotated[str | None, Header()] = None,
) -> InvoiceOut | Response:
    wanted = negotiate(accept)
    async with runtime.sessions() as session:
        if wanted == "json":
            return invoice_out(
                await queries.show_invoice(session, ctx.tenant_id, invoice_id, defaults)
            )
        return file_response(
            await invoice_file(session, ctx.tenant_id, invoice_id, wanted, defaults)
        )


@router.get("/invoices/{invoice_id}/lines/{line_id}/explain", response_model=ExplainOut)
async def explain_line(invoice_id: str, line_id: str, ctx: Caller, runtime: Runtime) -> ExplainOut:
    """The daily quantities behind a line, per source, with estimated days marked."""
    async with runtime.sessions() as session:
        found = await queries.explain_line(session, ctx.tenant_id, invoice_id, line_id)
    line = found.line
    return ExplainOut(
        invoice_id=found.invoice.id,
        line_id=line.id,
        service_code=line.service_code,
        quantity=quantity(line.quantity),
        amount=money(line.amount, found.invoice.currency),
        sources=[
            ExplainSource(
                module=s.module,
                metric=s.metric,
                days=[DayOut(date=d, quantity=quantity(q), estimated=e) for d, q, e in s.days],
            )
            for s in found.series
        ],
    )


@router.post("/invoices/{invoice_id}/post", response_model=InvoiceOut)
async def post_invoice(
    invoice_id: str, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> InvoiceOut:
    """Gives the next number of the tenant's gapless sequence and freezes the invoice;
    publishes ``invoice.posted`` with the full invoice."""
    async with runtime.transaction() as session:
        before = await state_before(session, ctx.tenant_id, invoice_id)
        posted = await posting.post_invoice(
            session,
            runtime.outbox,
            ctx.tenant_id,
            invoice_id,
            timezone=ctx.timezone,
            defaults=defaults,
        )
    out = invoice_out(posted)
    invoice_changed(invoice_id, "invoice.post", before, out)
    return out


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(
    invoice_id: str, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> InvoiceOut:
    """A draft, or a posted document without payments; a posted invoice's waiting correction
    is voided with it, and one with posted corrections is refused."""
    async with runtime.transaction() as session:
        before = await state_before(session, ctx.tenant_id, invoice_id)
        voided = await voiding.void_invoice(session, ctx.tenant_id, invoice_id, defaults=defaults)
    out = invoice_out(voided)
    invoice_changed(invoice_id, "invoice.void", before, out)
    return out
