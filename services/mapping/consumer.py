"""Mapping's consumers: ``usage.recorded`` -> store, resolve -> ``usage.resolved``; and the
replicas of module billing states and contracts that insights need."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.contract_cover import keep_contract
from services.mapping.models import ModuleBillingRow
from services.mapping.resolution.usage import record_usage
from shared.events import (
    ContractChanged,
    Event,
    ModuleBillingChanged,
    ResolvedUsage,
    UsageRecorded,
    UsageResolved,
)
from shared.replicas import module_billing_handler
from shared.runtime import EventRuntime

EVENT_RECORDS = 1000


async def publish_resolved(
    runtime: EventRuntime,
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


on_module_billing = module_billing_handler(ModuleBillingRow)


def register(runtime: EventRuntime) -> None:
    async def on_usage_recorded(session: AsyncSession, tenant_id: str, event: Event) -> None:
        assert isinstance(event, UsageRecorded)
        resolved = await record_usage(session, tenant_id, event.records)
        await publish_resolved(runtime, session, tenant_id, resolved)

    runtime.consume("usage", {UsageRecorded: on_usage_recorded})
    runtime.consume(
        "reference", {ModuleBillingChanged: on_module_billing, ContractChanged: keep_contract}
    )
