"""Mapping's consumers connect events to use cases: ``usage.recorded`` -> store and resolve
(-> ``usage.resolved``); the replicas of module billing states and contracts insights need."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.contract_cover import keep_contract
from services.mapping.models import ModuleBillingRow
from services.mapping.resolution.service import usage_recorded
from shared.events import ContractChanged, Event, ModuleBillingChanged, UsageRecorded
from shared.replicas import module_billing_handler
from shared.runtime import EventRuntime

on_module_billing = module_billing_handler(ModuleBillingRow)


def register(runtime: EventRuntime) -> None:
    async def on_usage_recorded(
        session: AsyncSession, tenant_id: str, events: Sequence[Event]
    ) -> None:
        records = [r for e in events if isinstance(e, UsageRecorded) for r in e.records]
        await usage_recorded(session, runtime.outbox, tenant_id, records)

    runtime.consume("usage", {}, {UsageRecorded: on_usage_recorded})
    runtime.consume(
        "reference", {ModuleBillingChanged: on_module_billing, ContractChanged: keep_contract}
    )
