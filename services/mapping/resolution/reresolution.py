"""Re-resolution of usage after a mapping changed: a durable job in the database.

A change commits its mappings together with one row per org (``pending_resolutions``) or per
service mapping (``pending_metric_resolutions``: a ``(module, metric)`` tenant-wide or for one
company) whose usage must be resolved again; the service's background loop works the rows off,
a batch per transaction that re-resolves the usage, publishes it and deletes the rows. On
PostgreSQL a batch takes its rows ``FOR UPDATE SKIP LOCKED``, so exactly one replica works a
row, and a replica that dies mid-batch rolls back: its rows are taken again. A crash loses
nothing, as the rows stay until the transaction that published the resolutions commits.

Re-resolving twice publishes the same resolution under a newer version, so a repeated batch
has the effect of one. Each batch resolves with the mappings of its own moment, after its
``UPDATE`` of the usage rows has locked them, so a later change of the same org or metric is
never overtaken by an older resolution: it queues its row again, which waits for a batch that
holds it (``DO UPDATE``), and its own batch bumps the versions past those of the older one.

The request that made the change waits a bounded time for its rows to be worked off
(``settle``) and answers whether they still are pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.mapping.models import (
    TENANT_WIDE,
    ModuleOrgRow,
    OrgMappingRow,
    PendingMetricResolutionRow,
    PendingResolutionRow,
    UsageRow,
)
from services.mapping.resolution.publishing import publish_resolved
from services.mapping.resolution.rules import OrgKey
from services.mapping.resolution.usage import KEY_CHUNK, dialect_name, of_metric, of_orgs, reresolve
from shared.db import chunks, insert, match_keys
from shared.drain import DrainLoop
from shared.outbox import Outbox
from shared.runtime import EventRuntime

_pending = cast(Table, PendingResolutionRow.__table__)
_pending_metrics = cast(Table, PendingMetricResolutionRow.__table__)
_usage = cast(Table, UsageRow.__table__)
# Orgs per re-resolution statement: two bind parameters each; a chunk's usage is resolved
# and published before the next one is read, so memory stays bounded.
ORG_CHUNK = KEY_CHUNK // 2
BATCH_ORGS = 250
"""Orgs per background transaction: small enough to commit progress every few seconds."""
BATCH_METRICS = 1
"""Service mappings per background transaction: each may re-resolve a whole metric."""
WAIT_SECONDS = 5.0
"""How long a request that changed mappings waits for its re-resolution before answering."""

MetricKey = tuple[str, str, str]
"""``(module, metric, company_id)``; ``company_id`` is ``TENANT_WIDE`` for the tenant-wide
mapping."""


@dataclass(frozen=True)
class Ticket:
    """The re-resolution one change queued: its tenant's orgs and service mappings."""

    tenant_id: str
    orgs: tuple[OrgKey, ...] = ()
    metrics: tuple[MetricKey, ...] = ()


async def reresolve_orgs(
    outbox: Outbox, session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]
) -> dict[OrgKey, int]:
    """Re-resolves and publishes all usage of the orgs; answers how many records each had."""
    counts: dict[OrgKey, int] = dict.fromkeys(keys, 0)
    for part in chunks(list(counts), ORG_CHUNK):
        resolved = await reresolve(session, tenant_id, of_orgs(part))
        await publish_resolved(outbox, session, tenant_id, resolved)
        for r in resolved:
            counts[(r.module, r.org_id)] += 1
    return counts


async def _orgs_of(session: AsyncSession, tenant_id: str, key: MetricKey) -> list[str]:
    """The orgs whose usage a service mapping concerns: the module's, or those mapped to the
    company of an override."""
    module, _, company_id = key
    if company_id == TENANT_WIDE:
        query = select(ModuleOrgRow.org_id).where(
            ModuleOrgRow.tenant_id == tenant_id, ModuleOrgRow.module == module
        )
    else:
        query = select(OrgMappingRow.org_id).where(
            OrgMappingRow.tenant_id == tenant_id,
            OrgMappingRow.module == module,
            OrgMappingRow.company_id == company_id,
        )
    return sorted(await session.scalars(query))


async def reresolve_metric(
    outbox: Outbox, session: AsyncSession, tenant_id: str, key: MetricKey
) -> int:
    """Re-resolves and publishes the usage a service mapping concerns, a chunk of orgs at a
    time; answers how many records that was."""
    module, metric, _ = key
    count = 0
    for part in chunks(await _orgs_of(session, tenant_id, key), ORG_CHUNK):
        where = and_(of_metric(module, metric), of_orgs([(module, org_id) for org_id in part]))
        resolved = await reresolve(session, tenant_id, where)
        await publish_resolved(outbox, session, tenant_id, resolved)
        count += len(resolved)
    return count


async def count_of_metric(session: AsyncSession, tenant_id: str, key: MetricKey) -> int:
    """How many usage records a service mapping concerns now."""
    module, metric, company_id = key
    query = (
        select(func.count())
        .select_from(_usage)
        .where(_usage.c.tenant_id == tenant_id, of_metric(module, metric, company_id or None))
    )
    return int(await session.scalar(query) or 0)


async def _upsert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Queues the rows. A row already queued is queued again (``DO UPDATE``, not ``DO
    NOTHING``): that waits for a batch holding it, so a change committed while that batch
    resolved with the older mapping is resolved once more."""
    if not rows:
        return
    stmt = insert(table, dialect_name(session))
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={"queued_at": stmt.excluded.queued_at},
    )
    await session.execute(stmt, rows)


async def enqueue(
    session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey], now: datetime
) -> None:
    """Queues the orgs' usage for re-resolution, in the caller's transaction."""
    await _upsert(
        session,
        _pending,
        [
            {"tenant_id": tenant_id, "module": module, "org_id": org_id, "queued_at": now}
            for module, org_id in keys
        ],
    )


async def enqueue_metrics(
    session: AsyncSession, tenant_id: str, keys: Sequence[MetricKey], now: datetime
) -> None:
    """Queues the usage of service mappings for re-resolution, in the caller's transaction."""
    await _upsert(
        session,
        _pending_metrics,
        [
            {
                "tenant_id": tenant_id,
                "module": module,
                "metric": metric,
                "company_id": company_id,
                "queued_at": now,
            }
            for module, metric, company_id in keys
        ],
    )


async def waiting(session: AsyncSession, tenant_id: str | None = None) -> int:
    """How many orgs and service mappings await re-resolution (of one tenant, or of all)."""
    total = 0
    for table in (_pending, _pending_metrics):
        query = select(func.count()).select_from(table)
        if tenant_id is not None:
            query = query.where(table.c.tenant_id == tenant_id)
        total += int(await session.scalar(query) or 0)
    return total


def _org_rows(session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]) -> Any:
    p = _pending.c
    return and_(
        p.tenant_id == tenant_id, match_keys(dialect_name(session), [p.module, p.org_id], keys)
    )


def _metric_rows(
    session: AsyncSession, tenant_id: str, keys: Sequence[MetricKey]
) -> ColumnElement[bool]:
    p = _pending_metrics.c
    return and_(
        p.tenant_id == tenant_id,
        match_keys(dialect_name(session), [p.module, p.metric, p.company_id], keys),
    )


async def still_queued(session: AsyncSession, ticket: Ticket) -> bool:
    """Whether any org or service mapping of the ticket still awaits re-resolution."""
    for part in chunks(list(ticket.orgs), ORG_CHUNK):
        query = select(_pending.c.org_id).where(_org_rows(session, ticket.tenant_id, part))
        if (await session.execute(query.limit(1))).first() is not None:
            return True
    for mpart in chunks(list(ticket.metrics), ORG_CHUNK):
        query = select(_pending_metrics.c.metric).where(
            _metric_rows(session, ticket.tenant_id, mpart)
        )
        if (await session.execute(query.limit(1))).first() is not None:
            return True
    return False


class ResolutionQueue(DrainLoop):
    """The background loop that works off the queued re-resolutions; woken by ``notify``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        published: Callable[[], None],
        *,
        batch_orgs: int = BATCH_ORGS,
        batch_metrics: int = BATCH_METRICS,
        poll_seconds: float = 1.0,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._published = published
        self._batch = batch_orgs
        self._batch_metrics = batch_metrics
        self.wait_seconds = wait_seconds
        self._worked = asyncio.Event()
        super().__init__(poll_seconds, "re-resolution of queued mapping changes")

    @classmethod
    def of(cls, runtime: EventRuntime, **options: Any) -> ResolutionQueue:
        """The queue of a runtime's database, outbox and relay."""
        options.setdefault("poll_seconds", runtime.settings.outbox_poll_seconds)
        return cls(runtime.sessions, runtime.outbox, runtime.relay.notify, **options)

    async def drain_once(self) -> int:
        """One batch of queued orgs and one of queued service mappings, each in its own
        transaction; answers how many orgs and service mappings were re-resolved."""
        done = 0
        for drain in (self._drain_orgs, self._drain_metrics):
            worked = await drain()
            if worked:  # committed: the relay has resolutions to send, waiters can look
                self._published()
                batch, self._worked = self._worked, asyncio.Event()
                batch.set()
            done += worked
        return done

    async def _drain_orgs(self) -> int:
        p = _pending.c
        async with self._sessions() as session, session.begin():
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
                await reresolve_orgs(self._outbox, session, tenant_id, keys)
                for part in chunks(keys, ORG_CHUNK):
                    await session.execute(
                        delete(_pending).where(_org_rows(session, tenant_id, part))
                    )
        return sum(len(keys) for keys in by_tenant.values())

    async def _drain_metrics(self) -> int:
        p = _pending_metrics.c
        async with self._sessions() as session, session.begin():
            query = (
                select(p.tenant_id, p.module, p.metric, p.company_id)
                .order_by(p.queued_at, p.tenant_id, p.module, p.metric, p.company_id)
                .limit(self._batch_metrics)
            )
            if dialect_name(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            taken = (await session.execute(query)).all()
            for tenant_id, module, metric, company_id in taken:
                key = (module, metric, company_id)
                await reresolve_metric(self._outbox, session, tenant_id, key)
                await session.execute(
                    delete(_pending_metrics).where(_metric_rows(session, tenant_id, [key]))
                )
        return len(taken)

    async def waiting(self) -> int:
        """How many orgs and service mappings of all tenants await re-resolution."""
        async with self._sessions() as session:
            return await waiting(session)

    async def settle(self, ticket: Ticket, timeout: float | None = None) -> bool:
        """Wakes the loop and waits up to ``timeout`` (default ``wait_seconds``) for the
        ticket's re-resolution to be committed, by this replica or another; answers whether
        it was. A zero timeout answers False at once."""
        self.notify()
        limit = self.wait_seconds if timeout is None else timeout
        if limit <= 0:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            worked = self._worked
            async with self._sessions() as session:
                if not await still_queued(session, ticket):
                    return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                async with asyncio.timeout(min(left, self._poll)):
                    await worked.wait()
            except TimeoutError:
                pass
