"""Invoices: list, read (JSON, CSV or PDF), explain a line, post, void."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.api.negotiation import negotiate
from services.invoicing.api.schemas import InvoiceOut, InvoiceSummary, Kind, Status
from services.invoicing.billing import parse_period
from services.invoicing.documents import service as invoices
from services.invoicing.documents.content import parse_daily
from services.invoicing.documents.exports.csv_rows import invoices_csv
from services.invoicing.documents.exports.document import invoice_document
from services.invoicing.documents.exports.pdf import invoice_pdf
from services.invoicing.documents.parties import parties_of
from services.invoicing.models import InvoiceRow
from shared.events import InvoicePosted
from shared.pagination import Page, paginate
from shared.problems import NotFound

router = APIRouter(prefix="/v1", tags=["invoices"])
FILES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class DayOut(BaseModel):
    date: date
    quantity: Decimal
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
    quantity: Decimal
    amount: Decimal
    sources: list[ExplainSource]


@router.get("/invoices", response_model=Page[InvoiceSummary])
async def list_invoices(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Status | None = None,
    kind: Kind | None = None,
) -> Page[InvoiceSummary]:
    query = select(InvoiceRow).where(InvoiceRow.tenant_id == ctx.tenant_id)
    for column, value in (
        (InvoiceRow.period, period),
        (InvoiceRow.company_id, company_id),
        (InvoiceRow.status, status),
        (InvoiceRow.kind, kind),
    ):
        if value is not None:
            query = query.where(column == value)
    async with runtime.sessions() as session:
        return await paginate(
            session,
            query,
            [InvoiceRow.id.expression],
            paging,
            lambda r: InvoiceSummary.model_validate(invoices.invoice_json(r[0], lines=False)),
            lambda r: (r[0].id,),
        )


def file_response(content: bytes | str, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
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
    accept: Annotated[str | None, Header()] = None,
) -> InvoiceOut | Response:
    wanted = negotiate(accept)
    async with runtime.sessions() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id)
        if wanted == "json":
            parties = await parties_of(session, row, runtime.settings)
            return InvoiceOut.model_validate(invoices.invoice_json(row, parties))
        document = await invoice_document(session, row, runtime.settings)
    name = f"{row.kind.replace('_', '-')}-{row.number or row.id}"
    if wanted == "csv":
        return file_response(invoices_csv([document]), FILES["csv"], f"{name}.csv")
    return file_response(invoice_pdf(document), FILES["pdf"], f"{name}.pdf")


@router.get("/invoices/{invoice_id}/lines/{line_id}/explain", response_model=ExplainOut)
async def explain_line(invoice_id: str, line_id: str, ctx: Caller, runtime: Runtime) -> ExplainOut:
    """The daily quantities behind a line, per source, with estimated days marked."""
    async with runtime.sessions() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id)
    line = next((x for x in row.lines if x.id == line_id), None)
    if line is None:
        raise NotFound(f"No line {line_id} on invoice {invoice_id}.")
    start, _ = parse_period(row.period)
    return ExplainOut(
        invoice_id=row.id,
        line_id=line.id,
        service_code=line.service_code,
        quantity=invoices.quantity(line.quantity),
        amount=invoices.money(line.amount, row.currency),
        sources=[
            ExplainSource(
                module=s.module,
                metric=s.metric,
                days=[
                    DayOut(date=d, quantity=invoices.quantity(q), estimated=e) for d, q, e in s.days
                ],
            )
            for s in parse_daily(line.daily, start)
        ],
    )


@router.post("/invoices/{invoice_id}/post", response_model=InvoiceOut)
async def post_invoice(invoice_id: str, ctx: Caller, runtime: Runtime) -> InvoiceOut:
    """Gives the next number of the tenant's gapless sequence and freezes the invoice;
    publishes ``invoice.posted`` with the full invoice."""
    async with runtime.transaction() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id, lock=True)
        parties = await invoices.post(session, row, ctx.timezone, runtime.settings)
        out = InvoiceOut.model_validate(invoices.invoice_json(row, parties))
        await runtime.outbox.add(
            session, ctx.tenant_id, InvoicePosted(invoice=out.model_dump(mode="json"))
        )
    return out


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(invoice_id: str, ctx: Caller, runtime: Runtime) -> InvoiceOut:
    """A draft, or a posted document without payments; a posted invoice's waiting correction
    is voided with it, and one with posted corrections is refused."""
    async with runtime.transaction() as session:
        row = await invoices.load_invoice(session, ctx.tenant_id, invoice_id, lock=True)
        await invoices.void(session, row)
        parties = await parties_of(session, row, runtime.settings)
        out = InvoiceOut.model_validate(invoices.invoice_json(row, parties))
    return out
