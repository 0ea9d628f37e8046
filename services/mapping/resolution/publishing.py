"""Resolutions leave mapping as ``usage.resolved`` events, through the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import ResolvedUsage, UsageResolved, usage_chunks
from shared.outbox import Outbox

EVENT_RECORDS = 1000
"""Records per event: keeps every message well below the bus's size limit."""


async def publish_resolved(
    outbox: Outbox, session: AsyncSession, tenant_id: str, resolved: Sequence[ResolvedUsage]
) -> None:
    await outbox.add(
        session,
        tenant_id,
        *(UsageResolved(records=chunk) for chunk in usage_chunks(resolved, EVENT_RECORDS)),
    )
