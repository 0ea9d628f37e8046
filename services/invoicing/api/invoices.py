"""Invoices: list, read (JSON, CSV or PDF), explain a line, post, void."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field

from services.invoicing.api.changes import invoice_changed, state_before
from services.invoicing.api.deps import Caller, Defaults, Paging, Runtime, Today
from services.invoicing.api.document_schemas import InvoiceOut, InvoiceSummary, invoice_summary
from services.invoicing.api.holds import hold_out, invoice_out
from services.invoicing.api.negotiation import negotiate
from services.invoicing.assurance import holds
from services.invoicing.documents import posting, queries, voiding
from services.invoicing.documents.explanation import (
    REASONS,
    calculation,
    disabled_days,
    explained_sources,
)
from services.invoicing.documents.exports.files import InvoiceFile, invoice_file
from services.invoicing.documents.formatting import money, price, quantity
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.queries import InvoiceFilter
from services.invoicing.documents.shape import line_period
from shared.openapi_docs import ApiModel
from shared.pagination import Page
from shared.wire import Period, Quantity

router = APIRouter(prefix="/v1", tags=["invoices"])


class DayOut(ApiModel):
    date: date
    """The day."""
    quantity: Quantity
    """The day's units from this source, after the contract's minimum."""
    estimated: bool
    """Whether the day's units were carried forward from an earlier day because the module
    sent nothing for it."""
    reason: str | None = Field(
        default=None,
        description="Why the day counts 0 (null where it counts its quantity): "
        + "; ".join(f"{k}: {v}" for k, v in REASONS.items()),
    )


class ExplainSource(ApiModel):
    module: str
    """The catalog id of the module counted."""
    metric: str
    """The catalog id of the metric counted."""
    days: list[DayOut]
    """Every active day of the period."""


class ExplainOut(ApiModel):
    """The line's daily series per source over the period, each day's reason where it counts
    0, and the calculation. For a correction line: the recomputed series the correction
    brings the period to, and the invoiced and recomputed totals."""

    invoice_id: str
    """The invoice of the line."""
    line_id: str
    """The line explained."""
    service_code: str
    """The contract service the line bills."""
    quantity: Quantity
    """The line's shown quantity."""
    unit_price: Decimal
    """The line's unit price, as the invoice shows it."""
    amount: Decimal
    """The line's amount, in the currency's minor digits."""
    period_start: date
    """The first day of the line's segment."""
    period_end: date
    """The last day of the line's segment."""
    calculation: dict[str, Any] = Field(
        description="model, counting_basis, unit_price (per_unit), tiers used or chosen "
        "[{from, up_to, quantity, unit_price, amount}], minimum_units, minimum_applied, "
        "active_days (|A|), days_in_period (D, the divisor) and the basis's formula; for a "
        "correction line the difference and the recomputed lines' calculations; empty on "
        "lines written before calculations were kept."
    )
    sources: list[ExplainSource]
    """Per ``(module, metric)`` feeding the service, its daily units."""


def file_response(file: InvoiceFile) -> Response:
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/invoices", response_model=Page[InvoiceSummary], summary="List invoices")
async def list_invoices(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    today: Today,
    period: Annotated[Period | None, Query()] = None,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
    status: InvoiceStatus | None = None,
    kind: InvoiceKind | None = None,
    overdue: bool | None = None,
) -> Page[InvoiceSummary]:
    """Invoices, adjustments and credit notes without their lines; ``period``,
    ``company_id``, ``status``, ``kind`` and ``overdue`` narrow the list. ``overdue=true``:
    posted invoices and adjustments due before today (tenant's zone) with a balance;
    ``overdue=false``: every other document."""
    where = InvoiceFilter(period, company_id, status, kind, overdue, today)
    async with runtime.sessions() as session:
        page = await queries.list_invoices(session, ctx.tenant_id, where, paging)
        drafts = [r.invoice.id for r in page.items if r.invoice.status == InvoiceStatus.DRAFT]
        held = await holds.holds_of(session, drafts)
    items = [invoice_summary(r, today) for r in page.items]
    for item in items:
        item.hold = hold_out(held.get(item.id))
    return Page(items=items, next_cursor=page.next_cursor)


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    summary="Show an invoice (JSON, CSV or PDF)",
    responses={
        200: {
            "content": {"text/csv": {}, "application/pdf": {}},
            "description": "The invoice as JSON, CSV (one row per line) or PDF, "
            "as the Accept header asks.",
        },
        406: {"description": "The Accept header asks for none of JSON, CSV and PDF."},
    },
)
async def get_invoice(
    invoice_id: str,
    ctx: Caller,
    runtime: Runtime,
    defaults: Defaults,
    today: Today,
    accept: Annotated[str | None, Header()] = None,
) -> InvoiceOut | Response:
    """The invoice with its lines, as JSON by default; ``Accept: text/csv`` answers one row
    per line, ``Accept: application/pdf`` the printable document. An ``Accept`` none of the
    three satisfies is refused (406)."""
    wanted = negotiate(accept)
    async with runtime.sessions() as session:
        if wanted == "json":
            shown = await queries.show_invoice(session, ctx.tenant_id, invoice_id, defaults)
            return await invoice_out(session, shown, today)
        return file_response(
            await invoice_file(session, ctx.tenant_id, invoice_id, wanted, defaults)
        )


@router.get(
    "/invoices/{invoice_id}/lines/{line_id}/explain",
    response_model=ExplainOut,
    summary="Explain an invoice line day by day",
)
async def explain_line(invoice_id: str, line_id: str, ctx: Caller, runtime: Runtime) -> ExplainOut:
    """The daily quantities behind a line, per source, with estimated days marked."""
    async with runtime.sessions() as session:
        found = await queries.explain_line(session, ctx.tenant_id, invoice_id, line_id)
    line, invoice = found.line, found.invoice
    start, end = line_period(line, invoice.period)
    month_start = start.replace(day=1)
    excluded = (line.calculation or {}).get("excluded") or {}
    sources = explained_sources(
        found.series, disabled_days(line.daily, month_start), excluded, month_start
    )
    return ExplainOut(
        invoice_id=invoice.id,
        line_id=line.id,
        service_code=line.service_code,
        quantity=quantity(line.quantity),
        unit_price=price(line.unit_price, invoice.currency),
        amount=money(line.amount, invoice.currency),
        period_start=start,
        period_end=end,
        calculation=calculation(line.calculation),
        sources=[
            ExplainSource(
                module=s.module,
                metric=s.metric,
                days=[
                    DayOut(
                        date=d.day,
                        quantity=quantity(d.quantity),
                        estimated=d.estimated,
                        reason=d.reason,
                    )
                    for d in s.days
                ],
            )
            for s in sources
        ],
    )


@router.post("/invoices/{invoice_id}/post", response_model=InvoiceOut, summary="Post an invoice")
async def post_invoice(
    invoice_id: str, ctx: Caller, runtime: Runtime, defaults: Defaults, today: Today
) -> InvoiceOut:
    """Gives the next number of the tenant's gapless sequence and freezes the invoice;
    publishes ``invoice.posted`` with the full invoice. Needs the seller profile (409
    ``seller-profile-required``); a zero total is ``paid`` at once, and a credit note is
    applied to the invoice it corrects as far as that invoice's balance allows."""
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
        out = await invoice_out(session, posted, today)
    invoice_changed(invoice_id, "invoice.post", before, out)
    return out


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut, summary="Void an invoice")
async def void_invoice(
    invoice_id: str, ctx: Caller, runtime: Runtime, defaults: Defaults, today: Today
) -> InvoiceOut:
    """A draft, or a posted document without payments; a posted invoice's waiting correction
    is voided with it, and one with posted corrections is refused."""
    async with runtime.transaction() as session:
        before = await state_before(session, ctx.tenant_id, invoice_id)
        voided = await voiding.void_invoice(
            session, runtime.outbox, ctx.tenant_id, invoice_id, defaults=defaults
        )
        out = await invoice_out(session, voided, today)
    invoice_changed(invoice_id, "invoice.void", before, out)
    return out
