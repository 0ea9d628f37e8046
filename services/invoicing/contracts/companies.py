"""Invoicing's view of companies: a replica fed by ``company.changed``, read through mapping's
API on a miss.

Reading through keeps "create a company, then at once a contract for it" working while the
``company.changed`` event is still on its way.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import CompanyRow
from shared.context import CallerContext
from shared.events import CompanyData
from shared.problems import ServiceUnavailable, invalid
from shared.service_client import ServiceClient

MAPPING_CLIENT = "mapping_client"
"""The runtime's key of the client of mapping's API."""


async def upsert_company(session: AsyncSession, tenant_id: str, data: CompanyData) -> CompanyRow:
    """The replica's row of the company, as ``data`` describes it."""
    row = await session.get(CompanyRow, data.id)
    if row is None:
        row = CompanyRow(id=data.id, tenant_id=tenant_id)
        session.add(row)
    row.name, row.external_ref = data.name, data.external_ref
    row.tax_rate, row.currency = data.tax_rate, data.currency
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
