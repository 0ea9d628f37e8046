"""Mapping's consumers: ``usage.recorded`` -> store, resolve -> ``usage.resolved``; and the
replica of module billing states that insights need."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import ModuleBillingRow
from services.mapping.usage import record_usage
from shared.events import (
    Contract,
    ModuleBillingChanged,
    ResolvedUsage,
    UsageRecorded,
    UsageResolved,
)
from shared.runtime import ServiceRuntime

EVENT_RECORDS = 1000


async def publish_resolved(
    runtime: ServiceRuntime,
    session: AsyncSession,
    tenant_id: str,
    resolved: Sequence[ResolvedUsage],
) -> None:
    await runtime.outbox.add(
        session,
        tenant_id,
        *(
            UsageResolved(records=tuple(resolved[i : i + EVENT_RECORDS]))
            for i in range(0, len(resolved), EVENT_RECORDS)
        ),
    )


async def on_module_billing(session: AsyncSession, tenant_id: str, event: Contract) -> None:
    """A tenant's events arrive in order (keyed by tenant) and the inbox drops redeliveries,
    so the replica ends in the state ingest holds."""
    assert isinstance(event, ModuleBillingChanged)
    row = await session.get(ModuleBillingRow, (tenant_id, event.module))
    if row is None:
        row = ModuleBillingRow(tenant_id=tenant_id, module=event.module)
        session.add(row)
    row.enabled, row.effective_from = event.enabled, event.effective_from


def register(runtime: ServiceRuntime) -> None:
    async def on_usage_recorded(session: AsyncSession, tenant_id: str, event: Contract) -> None:
        assert isinstance(event, UsageRecorded)
        resolved = await record_usage(session, tenant_id, event.records)
        await publish_resolved(runtime, session, tenant_id, resolved)

    runtime.consume("usage", {UsageRecorded: on_usage_recorded})
    runtime.consume("reference", {ModuleBillingChanged: on_module_billing})
