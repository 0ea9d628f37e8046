"""Companies imported from a CSV file, with a report of every rejected row and why."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from services.mapping.api.companies import CompanyOut, company_out
from services.mapping.api.deps import Caller, Runtime
from services.mapping.companies import service
from services.mapping.companies.csv_format import CsvError, read_rows
from shared.csv_table import UnsupportedMediaType, media_type
from shared.openapi_docs import ApiModel
from shared.problems import PayloadTooLarge, invalid

router = APIRouter(prefix="/v1/companies", tags=["companies"])
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


class RowError(ApiModel):
    loc: list[str | int]
    """Where in the row: the column name."""
    msg: str
    """Why the value is refused."""


class RejectedRow(ApiModel):
    row: int
    """The line in the file; the header is line 1."""
    errors: list[RowError]
    """Every reason the row was refused."""


class ImportReport(ApiModel):
    created: int
    """Companies created."""
    rejected: list[RejectedRow]
    """Rows skipped, each with its reasons."""
    companies: list[CompanyOut]
    """The companies created, in the file's order."""


def _report(result: service.ImportResult) -> ImportReport:
    return ImportReport(
        created=len(result.created),
        rejected=[
            RejectedRow(row=r.row, errors=[RowError(loc=e.loc, msg=e.msg) for e in r.errors])
            for r in result.rejected
        ],
        companies=[company_out(c) for c in result.created],
    )


@router.post(
    "/import",
    response_model=ImportReport,
    summary="Import companies from CSV",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "example": "name,external_ref,tax_rate,currency\nContoso Ltd,C-1,0.2,GBP\n",
                    }
                }
            },
        }
    },
)
async def import_companies(request: Request, ctx: Caller, runtime: Runtime) -> ImportReport:
    """Creates a company per valid row (``text/csv``, header ``name,external_ref,tax_rate,
    currency``); rows with errors, or whose ``external_ref`` is taken or repeated, are
    reported and skipped. Every valid row is created even when others are rejected."""
    media = media_type(request)
    if media not in CSV_TYPES:
        raise UnsupportedMediaType(f"Send the file as text/csv, not {media or 'no type'}.")
    body = await request.body()
    if len(body) > runtime.settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {runtime.settings.max_body_bytes} bytes.")
    try:
        rows = read_rows(body)
    except CsvError as exc:
        raise invalid(exc.loc, exc.msg) from exc
    async with runtime.transaction() as session:
        result = await service.import_companies(
            session, runtime.outbox, ctx.tenant_id, rows, datetime.now(UTC)
        )
    return _report(result)
