"""Invoicing's view of companies: a replica fed by ``company.changed``, read through mapping's
API on a miss.

Reading through keeps "create a company, then at once a contract for it" working while the
``company.changed`` event is still on its way.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import CompanyRow
from shared.context import CallerContext
from shared.db import dialect_of, insert
from shared.events import CompanyData
from shared.problems import ServiceUnavailable, invalid
from shared.service_client import ServiceClient

_companies = cast(Table, CompanyRow.__table__)


async def upsert_company(session: AsyncSession, tenant_id: str, data: CompanyData) -> CompanyRow:
    """The replica's row of the company, as ``data`` describes it: one statement (``ON
    CONFLICT DO UPDATE``), since the consumer and a contract's read-through may insert the same
    company at the same moment, and neither may fail for it."""
    values = {
        "name": data.name,
        "external_ref": data.external_ref,
        "tax_rate": data.tax_rate,
        "currency": data.currency,
    }
    stmt = insert(_companies, dialect_of(session)).values(id=data.id, tenant_id=tenant_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
    row = await session.get(CompanyRow, data.id, populate_existing=True)
    assert row is not None
    return row


async def ensure_company(
    session: AsyncSession, mapping: ServiceClient | None, ctx: CallerContext, company_id: str
) -> CompanyRow:
    """The caller's company from the replica, else from mapping (kept in the replica); a
    company of another tenant or none at all is refused as a bad ``company_id``."""
    row = await session.get(CompanyRow, company_id)
    if row is not None:
        if row.tenant_id != ctx.tenant_id:
            raise invalid(["body", "company_id"], f"no company {company_id}")
        return row
    if mapping is None:
        raise ServiceUnavailable("The mapping service is not configured.")
    status, body = await mapping.get(ctx, f"/v1/companies/{company_id}")
    if status != 200:
        raise invalid(["body", "company_id"], f"no company {company_id}")
    return await upsert_company(session, ctx.tenant_id, CompanyData.model_validate(body))
