"""A period's posted invoices in one file, for accounting."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.invoicing.api.deps import Caller, Defaults, Runtime, Today
from services.invoicing.api.invoices import file_response
from services.invoicing.documents.exports.files import period_export

router = APIRouter(prefix="/v1", tags=["invoices"])


@router.get(
    "/invoice-exports",
    summary="Export a period's posted documents",
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "CSV: one row per line (as GET /v1/invoices/{id} as "
            "text/csv); JSON: {period, invoices: [invoice]}.",
        }
    },
)
async def export_period(
    ctx: Caller,
    runtime: Runtime,
    defaults: Defaults,
    today: Today,
    period: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    format: Literal["csv", "json"] = "csv",
    include_void: bool = False,
) -> Response:
    """Every numbered document of the period (invoices, adjustments, credit notes) in number
    order: posted and paid ones, and with ``include_void`` those voided after posting."""
    async with runtime.sessions() as session:
        file = await period_export(
            session, ctx.tenant_id, period, format, defaults, today=today, include_void=include_void
        )
    return file_response(file)
