"""Replicas other services keep of ingest's module billing states (``module.billing_changed``).

A tenant's events arrive in order (keyed by tenant) and the inbox drops redeliveries, so a
replica ends in the state ingest holds.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.consumer import EventHandler
from shared.events import Event, ModuleBillingChanged


class ModuleBillingReplica:
    """Columns of a service's ``module_billing`` replica table (mix into its models)."""

    __tablename__ = "module_billing"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool]
    effective_from: Mapped[date | None] = mapped_column(Date)


def module_billing_handler(row_class: type[ModuleBillingReplica]) -> EventHandler:
    async def on_module_billing(session: AsyncSession, tenant_id: str, event: Event) -> None:
        assert isinstance(event, ModuleBillingChanged)
        row = await session.get(row_class, (tenant_id, event.module))
        if row is None:
            row = row_class()
            row.tenant_id, row.module = tenant_id, event.module
            session.add(row)
        row.enabled, row.effective_from = event.enabled, event.effective_from

    return on_module_billing
