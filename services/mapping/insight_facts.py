"""The facts the insight rules work on, loaded from mapping's tables."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.candidates import load_matcher
from services.mapping.insights import (
    BillingState,
    Facts,
    Kind,
    ModuleActivity,
    UnmappedMetric,
    UnmappedOrg,
)
from services.mapping.models import ModuleBillingRow, ModuleOrgRow, OrgMappingRow, UsageRow
from services.mapping.module_orgs import org_query, with_status
from services.mapping.usage import load_resolver


async def module_activity(session: AsyncSession, tenant_id: str) -> dict[str, ModuleActivity]:
    rows = await session.execute(
        select(ModuleOrgRow.module, func.count(), func.max(ModuleOrgRow.last_seen))
        .where(ModuleOrgRow.tenant_id == tenant_id)
        .group_by(ModuleOrgRow.module)
    )
    return {m: ModuleActivity(m, n, last) for m, n, last in rows}


async def module_billing(session: AsyncSession, tenant_id: str) -> dict[str, BillingState]:
    rows = await session.scalars(
        select(ModuleBillingRow).where(ModuleBillingRow.tenant_id == tenant_id)
    )
    return {r.module: BillingState(r.enabled, r.effective_from) for r in rows}


async def unmapped_orgs(session: AsyncSession, tenant_id: str) -> list[UnmappedOrg]:
    """Unmapped orgs with the count of their waiting usage records and their suggestions."""
    waiting = (
        select(UsageRow.module, UsageRow.org_id, func.count().label("records"))
        .where(UsageRow.tenant_id == tenant_id)
        .group_by(UsageRow.module, UsageRow.org_id)
        .subquery()
    )
    query = (
        with_status(org_query(tenant_id), "unmapped")
        .add_columns(func.coalesce(waiting.c.records, 0))
        .outerjoin(
            waiting,
            and_(waiting.c.module == ModuleOrgRow.module, waiting.c.org_id == ModuleOrgRow.org_id),
        )
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    matcher = await load_matcher(session, tenant_id)
    return [
        UnmappedOrg(
            org.module,
            org.org_id,
            org.org_name,
            org.first_seen,
            org.last_seen,
            records,
            tuple(matcher.rank(org.org_name)),
        )
        for org, _, records in rows
    ]


async def unmapped_metrics(session: AsyncSession, tenant_id: str) -> list[UnmappedMetric]:
    """Metrics of mapped orgs that resolve to no service for the org's company."""
    reported = (
        await session.execute(
            select(UsageRow.module, UsageRow.org_id, UsageRow.metric, OrgMappingRow.company_id)
            .join(
                OrgMappingRow,
                and_(
                    OrgMappingRow.tenant_id == UsageRow.tenant_id,
                    OrgMappingRow.module == UsageRow.module,
                    OrgMappingRow.org_id == UsageRow.org_id,
                ),
            )
            .where(
                UsageRow.tenant_id == tenant_id,
                OrgMappingRow.company_id.is_not(None),
                ~OrgMappingRow.excluded,
            )
            .distinct()
        )
    ).all()
    resolver = await load_resolver(session, tenant_id, (), ((r[0], r[2]) for r in reported))
    return [
        UnmappedMetric(module, metric, org_id, company_id)
        for module, org_id, metric, company_id in reported
        if company_id is not None and not resolver.services(module, metric, company_id)
    ]


async def load_facts(
    session: AsyncSession, tenant_id: str, today: date, kinds: Collection[Kind]
) -> Facts:
    """Only what the asked kinds need: suggestions and usage scans are the costly parts."""
    return Facts(
        today=today,
        activity=await module_activity(session, tenant_id),
        billing=await module_billing(session, tenant_id),
        unmapped_orgs=await unmapped_orgs(session, tenant_id) if "unmapped_orgs" in kinds else (),
        unmapped_metrics=await unmapped_metrics(session, tenant_id)
        if "unmapped_metric" in kinds
        else (),
    )
