"""What every mapping endpoint depends on: the signed caller, paging, the mapping runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import CompanyRow
from services.mapping.runtime import MappingRuntime
from shared.deps import Caller, Paging, runtime_dependency
from shared.problems import NotFound

__all__ = ["Caller", "Paging", "Runtime", "company_or_404"]
Runtime = Annotated[MappingRuntime, Depends(runtime_dependency(MappingRuntime))]


async def company_or_404(session: AsyncSession, tenant_id: str, company_id: str) -> CompanyRow:
    row = await session.get(CompanyRow, company_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"No company {company_id}.")
    return row
