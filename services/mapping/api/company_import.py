"""Companies imported from a CSV file, with a report of every rejected row and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.api.companies import CompanyIn, CompanyOut, company_changed, company_out
from services.mapping.api.deps import Caller, Runtime
from services.mapping.companies.csv_format import CsvError, CsvRow, read_rows
from services.mapping.models import CompanyRow
from shared.db import chunks
from shared.problems import Conflict, PayloadTooLarge, Problem, invalid

router = APIRouter(prefix="/v1/companies", tags=["companies"])
CSV_TYPES = ("text/csv", "application/csv", "text/plain")
REF_CHUNK = 1000


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class RowError(BaseModel):
    loc: list[str | int]
    msg: str


class RejectedRow(BaseModel):
    row: int
    """The line in the file; the header is line 1."""
    errors: list[RowError]


class ImportReport(BaseModel):
    created: int
    rejected: list[RejectedRow]
    companies: list[CompanyOut]


def _validate(row: CsvRow) -> CompanyIn | list[RowError]:
    errors: list[RowError] = []
    if row.extra_fields:
        errors.append(
            RowError(
                loc=["row", row.line], msg=f"{row.extra_fields} more field(s) than the header names"
            )
        )
    try:
        company = CompanyIn.model_validate(row.values)
    except ValidationError as exc:
        errors += [
            RowError(loc=["row", row.line, *map(str, e["loc"])], msg=e["msg"]) for e in exc.errors()
        ]
        return errors
    return errors or company


async def _taken_refs(session: AsyncSession, tenant_id: str, refs: list[str]) -> set[str]:
    taken: set[str] = set()
    for part in chunks(refs, REF_CHUNK):
        taken.update(
            ref
            for ref in await session.scalars(
                select(CompanyRow.external_ref).where(
                    CompanyRow.tenant_id == tenant_id, CompanyRow.external_ref.in_(part)
                )
            )
            if ref is not None
        )
    return taken


@router.post(
    "/import",
    response_model=ImportReport,
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
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        raise UnsupportedMediaType(f"Send the file as text/csv, not {media or 'no type'}.")
    body = await request.body()
    if len(body) > runtime.settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {runtime.settings.max_body_bytes} bytes.")
    try:
        rows = read_rows(body)
    except CsvError as exc:
        raise invalid(exc.loc, exc.msg) from exc
    valid: list[tuple[CsvRow, CompanyIn]] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        result = _validate(row)
        if isinstance(result, list):
            rejected.append(RejectedRow(row=row.line, errors=result))
        else:
            valid.append((row, result))
    now = datetime.now(UTC)
    created: list[CompanyRow] = []
    try:
        async with runtime.transaction() as session:
            refs = [c.external_ref for _, c in valid if c.external_ref]
            taken = await _taken_refs(session, ctx.tenant_id, refs)
            first_line: dict[str, int] = {}
            for row, company in valid:
                ref = company.external_ref
                if ref is not None and (ref in taken or ref in first_line):
                    where = (
                        f"line {first_line[ref]}" if ref in first_line else "an existing company"
                    )
                    rejected.append(
                        RejectedRow(
                            row=row.line,
                            errors=[
                                RowError(
                                    loc=["row", row.line, "external_ref"],
                                    msg=f"external_ref {ref!r} is already used by {where}",
                                )
                            ],
                        )
                    )
                    continue
                if ref is not None:
                    first_line[ref] = row.line
                created.append(
                    CompanyRow(
                        id=str(uuid.uuid4()),
                        tenant_id=ctx.tenant_id,
                        name=company.name,
                        external_ref=ref,
                        tax_rate=company.tax_rate,
                        currency=company.currency,
                        created_at=now,
                        updated_at=now,
                    )
                )
            session.add_all(created)
            await session.flush()
            await runtime.outbox.add(session, ctx.tenant_id, *map(company_changed, created))
    except IntegrityError as exc:
        raise Conflict(
            "Another request created a company with one of these external_ref "
            "values meanwhile; nothing was imported. Send the file again."
        ) from exc
    rejected.sort(key=lambda r: r.row)
    return ImportReport(
        created=len(created), rejected=rejected, companies=[company_out(c) for c in created]
    )
