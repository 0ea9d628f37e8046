"""A period's posted invoices in one file, for accounting."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response

from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.api.invoices import FILES, file_response
from services.invoicing.api.schemas import InvoiceOut
from services.invoicing.documents import service as invoices
from services.invoicing.documents.exports.csv_rows import invoices_csv
from services.invoicing.documents.exports.document import period_documents

router = APIRouter(prefix="/v1", tags=["invoices"])


@router.get(
    "/invoice-exports",
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
    period: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    format: Literal["csv", "json"] = "csv",
    include_void: bool = False,
) -> Response:
    """Every numbered document of the period (invoices, adjustments, credit notes) in number
    order: posted and paid ones, and with ``include_void`` those voided after posting."""
    async with runtime.sessions() as session:
        documents = await period_documents(
            session, ctx.tenant_id, period, runtime.settings, include_void=include_void
        )
    name = f"invoices-{period}"
    if format == "csv":
        return file_response(invoices_csv(documents), FILES["csv"], f"{name}.csv")
    body = [
        InvoiceOut.model_validate(invoices.invoice_json(d.invoice, d.parties)).model_dump(
            mode="json"
        )
        for d in documents
    ]
    return file_response(
        orjson.dumps({"period": period, "invoices": body}), "application/json", f"{name}.json"
    )
