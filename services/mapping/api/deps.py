from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import CompanyRow
from shared.context import CallerContext
from shared.pagination import PageParams, page_params
from shared.problems import NotFound
from shared.runtime import ServiceRuntime, caller, runtime_of

Caller = Annotated[CallerContext, Depends(caller)]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Paging = Annotated[PageParams, Depends(page_params)]


async def company_or_404(session: AsyncSession, tenant_id: str, company_id: str) -> CompanyRow:
    row = await session.get(CompanyRow, company_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"No company {company_id}.")
    return row
