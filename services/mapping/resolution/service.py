"""Use cases of resolution: usage recorded and resolved, org and service mappings changed.

A mapping change commits in one transaction with its events, its audit and the queued
re-resolution of the usage it concerns; the caller then waits a bounded time for that
re-resolution (``ResolutionQueue.settle``) and learns whether it is still pending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.companies.service import company_of
from services.mapping.models import TENANT_WIDE
from services.mapping.resolution import audit
from services.mapping.resolution.org_mappings import (
    OrgChange,
    OrgChangeResult,
    change_org_mappings,
    ticket_of,
)
from services.mapping.resolution.publishing import publish_resolved
from services.mapping.resolution.reresolution import ResolutionQueue, Ticket
from services.mapping.resolution.rules import OrgTarget
from services.mapping.resolution.service_mappings import change_service_mapping
from services.mapping.resolution.usage import record_usage
from shared.events import UsageRecord
from shared.outbox import Outbox

if TYPE_CHECKING:
    from services.mapping.runtime import MappingRuntime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MappingWork:
    """What a request that changes mappings needs, passed in: a unit of work, the outbox,
    the re-resolution queue and a clock."""

    transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]]
    outbox: Outbox
    queue: ResolutionQueue
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def of(cls, runtime: MappingRuntime) -> MappingWork:
        return cls(runtime.transaction, runtime.outbox, runtime.resolution_queue)


@dataclass(frozen=True)
class ServiceMappingChanged:
    reresolved: int
    """Usage records the mapping concerns, re-resolved (or queued for it)."""
    pending: bool


async def usage_recorded(
    session: AsyncSession, outbox: Outbox, tenant_id: str, records: Sequence[UsageRecord]
) -> None:
    """Stores newer revisions of usage and publishes their resolutions."""
    resolved = await record_usage(session, tenant_id, records)
    await publish_resolved(outbox, session, tenant_id, resolved)


async def map_org(
    work: MappingWork,
    tenant_id: str,
    actor: str,
    module: str,
    org_id: str,
    target: OrgTarget | None,
) -> tuple[OrgChangeResult, bool]:
    """Maps the org to a company of the tenant (``UnknownCompany`` if there is none), or
    excludes it; ``target`` None removes its mapping. Answers the change and whether its
    re-resolution is still pending."""
    action = audit.Action.ORG_DELETE if target is None else audit.Action.ORG_PUT
    async with work.transaction() as session:
        if target is not None and target.company_id is not None:
            await company_of(session, tenant_id, target.company_id)
        [result] = await change_org_mappings(
            session,
            work.outbox,
            tenant_id,
            actor,
            [OrgChange(module, org_id, target)],
            action,
            work.clock(),
        )
    return result, await still_pending(work, ticket_of(tenant_id, [result]))


async def set_service_mapping(
    work: MappingWork,
    tenant_id: str,
    actor: str,
    module: str,
    metric: str,
    company_id: str | None,
    codes: Sequence[str] | None,
) -> ServiceMappingChanged:
    """Sets (``codes`` None: removes) the tenant-wide mapping of the metric, or the override
    of one company, then waits for the re-resolution of the usage it concerns."""
    key = (module, metric, company_id or TENANT_WIDE)
    async with work.transaction() as session:
        if company_id is not None:
            await company_of(session, tenant_id, company_id)
        count = await change_service_mapping(
            session, work.outbox, tenant_id, actor, key, codes, work.clock()
        )
    pending = await still_pending(work, Ticket(tenant_id, metrics=(key,)))
    return ServiceMappingChanged(count, pending)


async def still_pending(work: MappingWork, ticket: Ticket) -> bool:
    """Waits the queue's bounded time for the ticket's re-resolution, after the commit that
    queued it; answers whether it is still pending."""
    if not (ticket.orgs or ticket.metrics):
        return False
    return not await work.queue.settle(ticket)
