"""Resolutions leave mapping as ``usage.resolved`` events, through the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import ResolvedUsage, UsageResolved
from shared.outbox import Outbox

EVENT_RECORDS = 1000
"""Records per event: keeps every message well below the bus's size limit."""


async def publish_resolved(
    outbox: Outbox, session: AsyncSession, tenant_id: str, resolved: Sequence[ResolvedUsage]
) -> None:
    await outbox.add(
        session,
        tenant_id,
        *(
            UsageResolved(records=tuple(resolved[i : i + EVENT_RECORDS]))
            for i in range(0, len(resolved), EVENT_RECORDS)
        ),
    )
