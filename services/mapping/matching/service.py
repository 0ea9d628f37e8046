"""Use cases of matching: module orgs with their company suggestions, and auto-mapping.

Planning an auto-map scores every unmapped org against every company: CPU work of seconds on
a big tenant, so it runs off the event loop, in the given process pool or else a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.companies.service import company_of
from services.mapping.matching.cache import load_matcher
from services.mapping.matching.candidates import load_companies
from services.mapping.matching.scoring import (
    DEFAULT_MARGIN,
    DEFAULT_MIN_SCORE,
    Proposal,
    Suggestion,
    plan_auto_map,
)
from services.mapping.models import ModuleOrgRow, OrgMappingRow
from services.mapping.resolution import audit
from services.mapping.resolution.module_orgs import (
    ORG_ORDER,
    mapping_status,
    org_query,
    with_status,
)
from services.mapping.resolution.org_mappings import (
    OrgChange,
    OrgChangeResult,
    change_org_mappings,
    ticket_of,
)
from services.mapping.resolution.rules import MappingStatus, OrgTarget
from services.mapping.resolution.service import MappingWork, still_pending
from shared.pagination import Page, PageParams, paginate


@dataclass(frozen=True)
class ModuleOrg:
    """A module org, its mapping state and, while unmapped, its ranked suggestions."""

    module: str
    org_id: str
    org_name: str
    status: MappingStatus
    company_id: str | None
    first_seen: date
    last_seen: date
    suggestions: tuple[Suggestion, ...] = ()


def _module_org(row: tuple[ModuleOrgRow, OrgMappingRow | None]) -> ModuleOrg:
    org, mapping = row
    return ModuleOrg(
        module=org.module,
        org_id=org.org_id,
        org_name=org.org_name,
        status=mapping_status(mapping),
        company_id=mapping.company_id if mapping else None,
        first_seen=org.first_seen,
        last_seen=org.last_seen,
    )


def _org_key(row: tuple[ModuleOrgRow, OrgMappingRow | None]) -> tuple[str, str]:
    return (row[0].module, row[0].org_id)


async def module_orgs(
    session: AsyncSession,
    tenant_id: str,
    paging: PageParams,
    module: str | None = None,
    status: MappingStatus | None = None,
    q: str | None = None,
    company_ids: Sequence[str] = (),
) -> Page[ModuleOrg]:
    """The tenant's module orgs; unmapped ones carry their ranked company suggestions.
    ``company_ids`` narrows to the orgs mapped to one of them."""
    query = _mapped_to(tenant_id, company_ids) if company_ids else org_query(tenant_id)
    if module:
        query = query.where(ModuleOrgRow.module == module)
    if q:
        query = query.where(func.lower(ModuleOrgRow.org_name).contains(q.lower(), autoescape=True))
    if status is not None:
        query = with_status(query, status)
    page: Page[ModuleOrg] = await paginate(session, query, ORG_ORDER, paging, _module_org, _org_key)
    if any(o.status == MappingStatus.UNMAPPED for o in page.items):
        matcher = await load_matcher(session, tenant_id)
        page.items = [
            replace(o, suggestions=tuple(matcher.rank(o.org_name)))
            if o.status == MappingStatus.UNMAPPED
            else o
            for o in page.items
        ]
    return page


def _mapped_to(tenant_id: str, company_ids: Sequence[str]) -> Select[Any]:
    """``org_query``'s rows of orgs mapped to one of the companies, found from the mappings'
    company index rather than by joining every org of the tenant."""
    query = (
        select(ModuleOrgRow, OrgMappingRow)
        .join(
            OrgMappingRow,
            and_(
                OrgMappingRow.tenant_id == ModuleOrgRow.tenant_id,
                OrgMappingRow.module == ModuleOrgRow.module,
                OrgMappingRow.org_id == ModuleOrgRow.org_id,
            ),
        )
        .where(
            ModuleOrgRow.tenant_id == tenant_id,
            OrgMappingRow.tenant_id == tenant_id,
            OrgMappingRow.company_id.in_(company_ids),
        )
    )
    return cast(Select[Any], query)


async def company_module_orgs(
    session: AsyncSession, tenant_id: str, company_id: str, paging: PageParams
) -> Page[ModuleOrg]:
    """The module orgs mapped to the company (``UnknownCompany`` if the tenant has none)."""
    await company_of(session, tenant_id, company_id)
    query = _mapped_to(tenant_id, [company_id])
    return await paginate(session, query, ORG_ORDER, paging, _module_org, _org_key)


@dataclass(frozen=True)
class AutoMapAsk:
    min_score: float = DEFAULT_MIN_SCORE
    margin: float = DEFAULT_MARGIN
    """How far the best company must lead the runner-up."""
    dry_run: bool = False
    module: str | None = None


@dataclass(frozen=True)
class AutoMapped:
    considered: int
    """Unmapped orgs looked at."""
    proposals: list[Proposal]
    changes: list[OrgChangeResult] | None
    """One per proposal, in its order; None for a dry run or when nothing was mapped."""
    pending: bool = False
    """Whether the re-resolution of the mapped orgs was still under way when the wait ended."""


async def plan(
    session: AsyncSession, tenant_id: str, ask: AutoMapAsk, executor: Executor | None = None
) -> tuple[int, list[Proposal]]:
    """The unmapped orgs considered and the clear winners among them, planned off the loop,
    in the order of the Unmapped queue (a dry run and the run after it propose alike)."""
    query = with_status(org_query(tenant_id), MappingStatus.UNMAPPED).order_by(*ORG_ORDER)
    if ask.module is not None:
        query = query.where(ModuleOrgRow.module == ask.module)
    orgs = [(o.module, o.org_id, o.org_name) for o in await session.scalars(query)]
    companies = await load_companies(session, tenant_id)
    if executor is None:
        proposals = await asyncio.to_thread(
            plan_auto_map, orgs, companies, ask.min_score, ask.margin
        )
    else:
        proposals = await asyncio.get_running_loop().run_in_executor(
            executor, plan_auto_map, orgs, companies, ask.min_score, ask.margin
        )
    return len(orgs), proposals


async def auto_map(
    work: MappingWork,
    tenant_id: str,
    actor: str,
    ask: AutoMapAsk,
    executor: Executor | None = None,
) -> AutoMapped:
    """Maps every unmapped org whose best company is clear (a dry run only answers them),
    planned and applied in one transaction."""
    async with work.transaction() as session:
        considered, proposals = await plan(session, tenant_id, ask, executor)
        if ask.dry_run or not proposals:
            return AutoMapped(considered, proposals, None)
        changes = [
            OrgChange(p.module, p.org_id, OrgTarget(p.suggestion.company_id, False))
            for p in proposals
        ]
        results = await change_org_mappings(
            session, work.outbox, tenant_id, actor, changes, audit.Action.ORG_AUTO_MAP, work.clock()
        )
    pending = await still_pending(work, ticket_of(tenant_id, results))
    return AutoMapped(considered, proposals, results, pending)
