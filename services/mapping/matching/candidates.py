"""The companies an org may belong to, as matching needs them: names and mapped org names."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.matching.scoring import Company
from services.mapping.models import CompanyRow, ModuleOrgRow, OrgMappingRow


async def load_companies(session: AsyncSession, tenant_id: str) -> list[Company]:
    """Every company of the tenant with the names of the module orgs mapped to it (the
    evidence other modules' mappings give)."""
    aliases: dict[str, set[str]] = defaultdict(set)
    mapped = await session.execute(
        select(OrgMappingRow.company_id, ModuleOrgRow.org_name)
        .join(
            ModuleOrgRow,
            (ModuleOrgRow.tenant_id == OrgMappingRow.tenant_id)
            & (ModuleOrgRow.module == OrgMappingRow.module)
            & (ModuleOrgRow.org_id == OrgMappingRow.org_id),
        )
        .where(
            OrgMappingRow.tenant_id == tenant_id,
            OrgMappingRow.company_id.is_not(None),
            ~OrgMappingRow.excluded,
        )
    )
    for company_id, org_name in mapped:
        if company_id is not None:
            aliases[company_id].add(org_name)
    rows = await session.execute(
        select(CompanyRow.id, CompanyRow.name)
        .where(CompanyRow.tenant_id == tenant_id)
        .order_by(CompanyRow.id)
    )
    return [Company(id_, name, tuple(sorted(aliases.get(id_, ())))) for id_, name in rows]
