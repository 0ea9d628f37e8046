"""Use cases of companies: created, changed, listed, imported from CSV; each change is
published as ``company.changed`` in its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.companies.csv_format import CsvRow
from services.mapping.companies.schemas import CompanyIn
from services.mapping.models import CompanyRow
from shared.db import chunks
from shared.events import CompanyChanged, CompanyData
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate
from shared.problems import Conflict, NotFound, plain_message

REF_CHUNK = 1000
COMPANY_ORDER = [CompanyRow.name.expression, CompanyRow.id.expression]


class UnknownCompany(NotFound):
    """No company of the tenant has the id."""


def duplicate_ref(ref: object) -> Conflict:
    return Conflict(f"Another company already has external_ref {ref!r}.")


def company_changed(row: CompanyRow) -> CompanyChanged:
    return CompanyChanged(
        company=CompanyData(
            id=row.id,
            name=row.name,
            external_ref=row.external_ref,
            tax_rate=row.tax_rate,
            currency=row.currency,
        )
    )


async def company_of(session: AsyncSession, tenant_id: str, company_id: str) -> CompanyRow:
    """The tenant's company; another tenant's is unknown, like one that does not exist."""
    row = await session.get(CompanyRow, company_id)
    if row is None or row.tenant_id != tenant_id:
        raise UnknownCompany(f"No company {company_id}.")
    return row


def _new_row(tenant_id: str, company: CompanyIn, now: datetime) -> CompanyRow:
    return CompanyRow(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        name=company.name,
        external_ref=company.external_ref,
        tax_rate=company.tax_rate,
        currency=company.currency,
        created_at=now,
        updated_at=now,
    )


async def create_company(
    session: AsyncSession, outbox: Outbox, tenant_id: str, company: CompanyIn, now: datetime
) -> CompanyRow:
    row = _new_row(tenant_id, company, now)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise duplicate_ref(company.external_ref) from exc
    await outbox.add(session, tenant_id, company_changed(row))
    return row


async def change_company(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    company_id: str,
    changes: dict[str, object],
    now: datetime,
) -> CompanyRow:
    row = await company_of(session, tenant_id, company_id)
    for field, value in changes.items():
        setattr(row, field, value)
    row.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:
        raise duplicate_ref(changes.get("external_ref")) from exc
    await outbox.add(session, tenant_id, company_changed(row))
    return row


async def list_companies(
    session: AsyncSession,
    tenant_id: str,
    paging: PageParams,
    q: str | None = None,
    external_ref: str | None = None,
    ids: Sequence[str] = (),
) -> Page[CompanyRow]:
    """By name; ``q`` matches part of the name regardless of case."""
    query = select(CompanyRow).where(CompanyRow.tenant_id == tenant_id)
    if ids:
        query = query.where(CompanyRow.id.in_(ids))
    if q:
        query = query.where(func.lower(CompanyRow.name).contains(q.lower(), autoescape=True))
    if external_ref:
        query = query.where(CompanyRow.external_ref == external_ref)
    return await paginate(
        session, query, COMPANY_ORDER, paging, lambda r: r[0], lambda r: (r[0].name, r[0].id)
    )


@dataclass(frozen=True)
class RowError:
    loc: list[str | int]
    msg: str


@dataclass(frozen=True)
class RejectedRow:
    row: int
    """The line in the file; the header is line 1."""
    errors: list[RowError]


@dataclass(frozen=True)
class ImportResult:
    created: list[CompanyRow]
    rejected: list[RejectedRow]


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
            RowError(loc=["row", row.line, *map(str, e["loc"])], msg=plain_message(e["msg"]))
            for e in exc.errors()
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


async def import_companies(
    session: AsyncSession, outbox: Outbox, tenant_id: str, rows: Sequence[CsvRow], now: datetime
) -> ImportResult:
    """A company per valid row; rows with errors, or whose ``external_ref`` is taken or
    repeated, are rejected with the reasons. Every valid row is created even when others are
    rejected; a concurrent import of one of the refs is a conflict that imports nothing."""
    valid: list[tuple[CsvRow, CompanyIn]] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        result = _validate(row)
        if isinstance(result, list):
            rejected.append(RejectedRow(row=row.line, errors=result))
        else:
            valid.append((row, result))
    taken = await _taken_refs(
        session, tenant_id, [c.external_ref for _, c in valid if c.external_ref]
    )
    first_line: dict[str, int] = {}
    created: list[CompanyRow] = []
    for row, company in valid:
        ref = company.external_ref
        if ref is not None and (ref in taken or ref in first_line):
            where = f"line {first_line[ref]}" if ref in first_line else "an existing company"
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
        created.append(_new_row(tenant_id, company, now))
    session.add_all(created)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Another request created a company with one of these external_ref "
            "values meanwhile; nothing was imported. Send the file again."
        ) from exc
    await outbox.add(session, tenant_id, *map(company_changed, created))
    rejected.sort(key=lambda r: r.row)
    return ImportResult(created, rejected)
