"""Use cases of insights: what needs the MSP's attention now, from the current state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.facts import load_facts
from services.mapping.insights.rules import KINDS, Facts, Insight, InsightKind, build
from services.mapping.matching.candidates import load_matcher
from shared.pagination import Page, PageParams, page_of


async def insights(
    session: AsyncSession,
    tenant_id: str,
    today: date,
    stale_days: int,
    paging: PageParams,
    kinds: Sequence[InsightKind] = KINDS,
) -> Page[Insight]:
    """A page of the insights of the asked kinds, the most severe first; only the facts
    those kinds need are loaded. Suggestions are ranked for the page's orgs only: ranking
    scores an org against every company, so ranking a large queue whole took seconds per
    page while the order of the list never depends on them."""
    facts = await load_facts(session, tenant_id, today, kinds)
    page = page_of(build(facts, stale_days, kinds), paging)
    if not any(i.kind == InsightKind.UNMAPPED_ORGS for i in page.items):
        return page
    return page.model_copy(update={"items": await _suggested(session, tenant_id, facts, page)})


async def _suggested(
    session: AsyncSession, tenant_id: str, facts: Facts, page: Page[Insight]
) -> list[Insight]:
    names = {(o.module, o.org_id): o.org_name for o in facts.unmapped_orgs}
    matcher = await load_matcher(session, tenant_id)
    return [
        replace(i, suggestions=tuple(matcher.rank(names[(i.module or "", i.org_id or "")])))
        if i.kind == InsightKind.UNMAPPED_ORGS
        else i
        for i in page.items
    ]
