"""Invoicing's consumers: event types connected to the use cases that keep the unit table and
the replicas it bills from."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.contracts.companies import upsert_company
from services.invoicing.models import ModuleBillingRow
from services.invoicing.units.service import apply_resolved
from services.invoicing.webhooks.deliverer import Deliverer
from services.invoicing.webhooks.fanout import WebhookFanout
from shared.event_contract import public_events
from shared.events import CompanyChanged, Event, ModuleBillingChanged, UsageResolved
from shared.replicas import module_billing_handler
from shared.runtime import EventRuntime


async def on_usage_resolved(session: AsyncSession, tenant_id: str, events: Sequence[Event]) -> None:
    records = [r for e in events if isinstance(e, UsageResolved) for r in e.records]
    await apply_resolved(session, tenant_id, records)


async def on_company_changed(session: AsyncSession, tenant_id: str, event: Event) -> None:
    assert isinstance(event, CompanyChanged)
    await upsert_company(session, tenant_id, event.company)


on_module_billing = module_billing_handler(ModuleBillingRow)


def register_webhooks(runtime: EventRuntime, deliverer: Deliverer) -> None:
    """Every public event to the webhook delivery queue, in a consumer group of its own."""
    runtime.consumers.append(
        WebhookFanout(
            group=f"{runtime.settings.topic_prefix}{runtime.name}.webhooks",
            bus=runtime.bus,
            sessions=runtime.sessions,
            inbox=runtime.inbox_table,
            handlers={cls: _queued_by_fanout for cls in public_events()},
            topic_prefix=runtime.settings.topic_prefix,
            after_commit=deliverer.notify,
            batch_size=runtime.settings.consumer_batch_size,
        )
    )


async def _queued_by_fanout(session: AsyncSession, tenant_id: str, event: Event) -> None:
    raise AssertionError("WebhookFanout queues deliveries itself")


def register(runtime: EventRuntime) -> None:
    runtime.consume("usage", {}, {UsageResolved: on_usage_resolved})
    runtime.consume(
        "reference",
        {CompanyChanged: on_company_changed, ModuleBillingChanged: on_module_billing},
    )
