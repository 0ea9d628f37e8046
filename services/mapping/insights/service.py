"""Use cases of insights: what needs the MSP's attention now, from the current state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.facts import load_facts
from services.mapping.insights.rules import KINDS, Insight, InsightKind, build


async def insights(
    session: AsyncSession,
    tenant_id: str,
    today: date,
    stale_days: int,
    kinds: Sequence[InsightKind] = KINDS,
) -> list[Insight]:
    """The insights of the asked kinds, the most severe first; only the facts those kinds
    need are loaded."""
    facts = await load_facts(session, tenant_id, today, kinds)
    return build(facts, stale_days, kinds)
