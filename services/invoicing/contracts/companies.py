"""Invoicing's view of companies: a replica fed by events, read through on a miss.

Reading through keeps "create a company, then at once a contract for it" working while the
``company.changed`` event is still on its way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.consumer import upsert_company
from services.invoicing.models import CompanyRow
from shared.context import CallerContext
from shared.events import CompanyChanged, CompanyData
from shared.problems import invalid

if TYPE_CHECKING:
    from services.invoicing.runtime import InvoicingRuntime


async def ensure_company(
    runtime: InvoicingRuntime, session: AsyncSession, ctx: CallerContext, company_id: str
) -> CompanyRow:
    row = await session.get(CompanyRow, company_id)
    if row is not None:
        if row.tenant_id != ctx.tenant_id:
            raise invalid(["body", "company_id"], f"no company {company_id}")
        return row
    status, body = await runtime.mapping.get(ctx, f"/v1/companies/{company_id}")
    if status != 200:
        raise invalid(["body", "company_id"], f"no company {company_id}")
    await upsert_company(
        session, ctx.tenant_id, CompanyChanged(company=CompanyData.model_validate(body))
    )
    row = await session.get(CompanyRow, company_id)
    assert row is not None
    return row
