"""Invoicing's view of companies: a replica fed by events, read through on a miss.

Reading through keeps "create a company, then at once a contract for it" working while the
``company.changed`` event is still on its way.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.consumer import upsert_company
from services.invoicing.models import CompanyRow
from shared.context import CallerContext
from shared.events import CompanyChanged, CompanyData
from shared.problems import ServiceUnavailable, invalid
from shared.runtime import ServiceRuntime
from shared.service_client import ServiceClient

MAPPING_CLIENT = "mapping_client"


async def ensure_company(
    runtime: ServiceRuntime, session: AsyncSession, ctx: CallerContext, company_id: str
) -> CompanyRow:
    row = await session.get(CompanyRow, company_id)
    if row is not None:
        if row.tenant_id != ctx.tenant_id:
            raise invalid(["body", "company_id"], f"no company {company_id}")
        return row
    client: ServiceClient | None = runtime.extras.get(MAPPING_CLIENT)
    if client is None:
        raise ServiceUnavailable("The mapping service is not configured.")
    status, body = await client.get(ctx, f"/v1/companies/{company_id}")
    if status != 200:
        raise invalid(["body", "company_id"], f"no company {company_id}")
    await upsert_company(
        session, ctx.tenant_id, CompanyChanged(company=CompanyData.model_validate(body))
    )
    row = await session.get(CompanyRow, company_id)
    assert row is not None
    return row
