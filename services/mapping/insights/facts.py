"""The facts the insight rules work on, loaded from mapping's tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.contract_cover import COMPANY_CHUNK, contract_covers
from services.mapping.insights.rules import (
    BillingState,
    Facts,
    InsightKind,
    MappedUsage,
    ModuleActivity,
    UnmappedMetric,
    UnmappedOrg,
    usage_window_start,
)
from services.mapping.models import (
    CompanyRow,
    ModuleBillingRow,
    ModuleOrgRow,
    OrgMappingRow,
    UsageRow,
)
from services.mapping.resolution.module_orgs import org_query, with_status
from services.mapping.resolution.rules import MappingStatus
from services.mapping.resolution.usage import load_resolver
from shared.db import chunks, dialect_of

NEED_ACTIVITY = {InsightKind.MODULE_NOT_ENABLED, InsightKind.STALE_MODULE}
"""The kinds that read every module's org count and latest day (a scan of all orgs)."""
NEED_BILLING = NEED_ACTIVITY | {InsightKind.USAGE_WITHOUT_CONTRACT}


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


def _unmapped(tenant_id: str, *columns: Any) -> Select[Any]:
    query = with_status(org_query(tenant_id), MappingStatus.UNMAPPED)
    return cast(Select[Any], query.with_only_columns(*columns))


async def unmapped_org_count(session: AsyncSession, tenant_id: str) -> int:
    return int(await session.scalar(_unmapped(tenant_id, func.count())) or 0)


async def unmapped_orgs(
    session: AsyncSession, tenant_id: str, offset: int = 0, limit: int | None = None
) -> list[UnmappedOrg]:
    """Unmapped orgs in the order the rule lists them (module, name, id; by code point on
    every database), ``limit`` of them from ``offset``, with the count of their waiting usage
    records; their suggestions are left to whoever shows them (see ``service.insights``)."""
    records = (
        select(func.count())
        .where(
            UsageRow.tenant_id == ModuleOrgRow.tenant_id,
            UsageRow.module == ModuleOrgRow.module,
            UsageRow.org_id == ModuleOrgRow.org_id,
        )
        .scalar_subquery()
    )
    binary = dialect_of(session) == "postgresql"
    order = [
        column.collate("C") if binary else column
        for column in (ModuleOrgRow.module, ModuleOrgRow.org_name, ModuleOrgRow.org_id)
    ]
    query = _unmapped(
        tenant_id,
        ModuleOrgRow.module,
        ModuleOrgRow.org_id,
        ModuleOrgRow.org_name,
        ModuleOrgRow.first_seen,
        ModuleOrgRow.last_seen,
        records,
    )
    rows = await session.execute(query.order_by(*order).offset(offset).limit(limit))
    return [UnmappedOrg(*row) for row in rows]


def _mapped_usage(tenant_id: str, *columns: Any) -> Select[Any]:
    """``columns`` and the company of usage rows whose org is mapped to one."""
    return (
        select(*columns, OrgMappingRow.company_id)
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
    )


async def unmapped_metrics(session: AsyncSession, tenant_id: str) -> list[UnmappedMetric]:
    """Metrics of mapped orgs that resolve to no service for the org's company."""
    reported = (
        await session.execute(
            _mapped_usage(tenant_id, UsageRow.module, UsageRow.org_id, UsageRow.metric).distinct()
        )
    ).all()
    resolver = await load_resolver(session, tenant_id, (), ((r[0], r[2]) for r in reported))
    return [
        UnmappedMetric(module, metric, org_id, company_id)
        for module, org_id, metric, company_id in reported
        if company_id is not None and not resolver.services(module, metric, company_id)
    ]


async def mapped_usage(session: AsyncSession, tenant_id: str, since: date) -> list[MappedUsage]:
    """Per company and ``(module, metric)``: the days since ``since`` with units, and the
    service codes the metric resolves to for the company."""
    query = _mapped_usage(tenant_id, UsageRow.module, UsageRow.metric, UsageRow.day).where(
        UsageRow.day >= since, UsageRow.quantity > 0
    )
    days: dict[tuple[str, str, str], set[date]] = defaultdict(set)
    for module, metric, day, company_id in await session.execute(query.distinct()):
        days[(company_id, module, metric)].add(day)
    resolver = await load_resolver(session, tenant_id, (), ((m, x) for _, m, x in days))
    return [
        MappedUsage(
            company_id,
            module,
            metric,
            resolver.services(module, metric, company_id),
            frozenset(found),
        )
        for (company_id, module, metric), found in days.items()
    ]


async def company_names(
    session: AsyncSession, tenant_id: str, ids: Collection[str]
) -> dict[str, str]:
    names: dict[str, str] = {}
    for part in chunks(sorted(ids), COMPANY_CHUNK):
        rows = await session.execute(
            select(CompanyRow.id, CompanyRow.name).where(
                CompanyRow.tenant_id == tenant_id, CompanyRow.id.in_(part)
            )
        )
        names.update({company_id: name for company_id, name in rows})
    return names


async def load_facts(
    session: AsyncSession, tenant_id: str, today: date, kinds: Collection[InsightKind]
) -> Facts:
    """Only what the asked kinds need: usage scans are the costly part. Unmapped orgs are
    left out: they may be tens of thousands, and ``service.insights`` loads the page's."""
    asked = set(kinds)
    facts = Facts(
        today=today,
        activity=await module_activity(session, tenant_id) if asked & NEED_ACTIVITY else {},
        billing=await module_billing(session, tenant_id) if asked & NEED_BILLING else {},
        unmapped_metrics=await unmapped_metrics(session, tenant_id)
        if InsightKind.UNMAPPED_METRIC in kinds
        else (),
    )
    if InsightKind.USAGE_WITHOUT_CONTRACT not in kinds:
        return facts
    usage = await mapped_usage(session, tenant_id, usage_window_start(today))
    companies = {u.company_id for u in usage}
    return replace(
        facts,
        mapped_usage=usage,
        contracts=await contract_covers(session, tenant_id, companies),
        company_names=await company_names(session, tenant_id, companies),
    )
