"""Use cases of insights: what needs the MSP's attention now, from the current state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights import rules
from services.mapping.insights.facts import load_facts, unmapped_org_count, unmapped_orgs
from services.mapping.insights.rules import KINDS, Facts, Insight, InsightKind, build
from services.mapping.matching.cache import load_matcher
from shared.pagination import Page, PageParams, page_of

_ORGS = InsightKind.UNMAPPED_ORGS
_ORGS_AT = (rules.severity_rank(rules.InsightSeverity.WARNING), KINDS.index(_ORGS))
"""Where ``unmapped_orgs`` (all warnings) sit in the list ``build`` sorts."""


async def insights(
    session: AsyncSession,
    tenant_id: str,
    today: date,
    stale_days: int,
    paging: PageParams,
    kinds: Sequence[InsightKind] = KINDS,
) -> Page[Insight]:
    """A page of the insights of the asked kinds, the most severe first (as ``build`` lists
    them); only the facts those kinds need are loaded.

    A tenant may have tens of thousands of orgs waiting, and ranking their suggestions
    scores each against every company: the orgs are one block of the list, counted in the
    database, and only the page's part of it is loaded and ranked."""
    facts = await load_facts(session, tenant_id, today, kinds)
    others = build(facts, stale_days, [k for k in kinds if k != _ORGS])
    if _ORGS not in kinds:
        return page_of(others, paging)
    at = sum(1 for i in others if (rules.severity_rank(i.severity), KINDS.index(i.kind)) < _ORGS_AT)
    waiting = await unmapped_org_count(session, tenant_id)
    places = page_of(range(len(others) + waiting), paging)
    shown = [p - at for p in places.items if at <= p < at + waiting]
    orgs = await _suggested(session, tenant_id, facts, shown)
    items = [
        orgs[p - at] if at <= p < at + waiting else others[p if p < at else p - waiting]
        for p in places.items
    ]
    return Page(items=items, next_cursor=places.next_cursor)


async def _suggested(
    session: AsyncSession, tenant_id: str, facts: Facts, shown: list[int]
) -> dict[int, Insight]:
    """The ``unmapped_orgs`` insights at the ``shown`` places of their block, ranked."""
    if not shown:
        return {}
    found = await unmapped_orgs(session, tenant_id, shown[0], len(shown))
    matcher = await load_matcher(session, tenant_id)
    names = {(o.module, o.org_id): o.org_name for o in found}
    listed = rules.unmapped_orgs(replace(facts, unmapped_orgs=found))
    return {
        place: replace(i, suggestions=tuple(matcher.rank(names[(i.module or "", i.org_id or "")])))
        for place, i in zip(shown, listed, strict=True)
    }
