"""Re-resolution of all usage of orgs whose mapping changed: in the request, or queued.

Up to ``INLINE_RECORDS`` records are re-resolved in the transaction of the change. More (a
bulk auto-map on a big tenant) would outlast any request, so the change commits the mappings
with one ``pending_resolutions`` row per org and this service's background loop re-resolves
them, a batch of orgs per transaction that also deletes their rows. A crash loses nothing:
the rows stay until the transaction that published the resolutions commits. Re-resolving an
org twice publishes the same resolution under a newer version, so a repeated batch has the
effect of one, and each batch resolves with the mappings of its own moment, so a later change
of the same org is never overtaken by an older one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.consumer import publish_resolved
from services.mapping.models import PendingResolutionRow
from services.mapping.resolution.rules import OrgKey
from services.mapping.resolution.usage import KEY_CHUNK, dialect_name, of_orgs, reresolve
from shared.db import chunks, insert, match_keys
from shared.drain import DrainLoop
from shared.runtime import EventRuntime

if TYPE_CHECKING:
    from services.mapping.runtime import MappingRuntime

_pending = cast(Table, PendingResolutionRow.__table__)
# Orgs per re-resolution statement: two bind parameters each; a chunk's usage is resolved
# and published before the next one is read, so memory stays bounded.
ORG_CHUNK = KEY_CHUNK // 2
INLINE_RECORDS = 50_000
"""At most this many usage records are re-resolved in the request that changed mappings."""
BATCH_ORGS = 250
"""Orgs per background transaction: small enough to commit progress every few seconds."""


async def reresolve_orgs(
    runtime: EventRuntime, session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]
) -> dict[OrgKey, int]:
    """Re-resolves and publishes all usage of the orgs; answers how many records each had."""
    counts: dict[OrgKey, int] = dict.fromkeys(keys, 0)
    for part in chunks(list(counts), ORG_CHUNK):
        resolved = await reresolve(session, tenant_id, of_orgs(part))
        await publish_resolved(runtime, session, tenant_id, resolved)
        for r in resolved:
            counts[(r.module, r.org_id)] += 1
    return counts


async def enqueue(
    session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey], now: datetime
) -> None:
    """Queues the orgs. An org already queued is queued again (``DO UPDATE``, not ``DO
    NOTHING``): that waits for a batch holding its row, so a change committed while that
    batch resolved with the older mapping is resolved once more."""
    stmt = insert(_pending, dialect_name(session))
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "module", "org_id"],
        set_={"queued_at": stmt.excluded.queued_at},
    )
    rows = [
        {"tenant_id": tenant_id, "module": module, "org_id": org_id, "queued_at": now}
        for module, org_id in keys
    ]
    if rows:
        await session.execute(stmt, rows)


async def waiting(session: AsyncSession, tenant_id: str | None = None) -> int:
    """How many orgs await re-resolution (of one tenant, or of all)."""
    query = select(func.count()).select_from(_pending)
    if tenant_id is not None:
        query = query.where(_pending.c.tenant_id == tenant_id)
    return int(await session.scalar(query) or 0)


class ResolutionQueue(DrainLoop):
    """The background loop that works off ``pending_resolutions``; woken by ``notify``."""

    def __init__(
        self, runtime: EventRuntime, batch_orgs: int = BATCH_ORGS, poll_seconds: float = 1.0
    ) -> None:
        self._runtime = runtime
        self._batch = batch_orgs
        super().__init__(poll_seconds, "re-resolution of queued orgs")

    async def drain_once(self) -> int:
        """Re-resolves one batch of queued orgs in one transaction; answers how many."""
        p = _pending.c
        async with self._runtime.sessions() as session, session.begin():
            query = (
                select(p.tenant_id, p.module, p.org_id)
                .order_by(p.queued_at, p.tenant_id, p.module, p.org_id)
                .limit(self._batch)
            )
            if dialect_name(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            by_tenant: dict[str, list[OrgKey]] = {}
            for tenant_id, module, org_id in await session.execute(query):
                by_tenant.setdefault(tenant_id, []).append((module, org_id))
            for tenant_id, keys in by_tenant.items():
                await reresolve_orgs(self._runtime, session, tenant_id, keys)
                await session.execute(
                    delete(_pending).where(
                        p.tenant_id == tenant_id,
                        match_keys(dialect_name(session), [p.module, p.org_id], keys),
                    )
                )
        if by_tenant:  # the new resolutions wait in the outbox
            self._runtime.relay.notify()
        return sum(len(keys) for keys in by_tenant.values())


def wake(runtime: MappingRuntime) -> None:
    """Tells the service's queue that orgs were queued (after the commit that queued them)."""
    runtime.resolution_queue.notify()
