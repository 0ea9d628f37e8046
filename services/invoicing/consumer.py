"""Invoicing's consumers: the unit table and the replicas it bills from."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import CompanyRow, ModuleBillingRow
from services.invoicing.units.service import apply_resolved
from shared.db import dialect_of, insert
from shared.events import CompanyChanged, Event, ModuleBillingChanged, UsageResolved
from shared.replicas import module_billing_handler
from shared.runtime import EventRuntime

_companies = cast(Table, CompanyRow.__table__)


async def on_usage_resolved(session: AsyncSession, tenant_id: str, event: Event) -> None:
    assert isinstance(event, UsageResolved)
    await apply_resolved(session, tenant_id, event.records)


async def on_company_changed(session: AsyncSession, tenant_id: str, event: Event) -> None:
    assert isinstance(event, CompanyChanged)
    await upsert_company(session, tenant_id, event)


async def upsert_company(session: AsyncSession, tenant_id: str, event: CompanyChanged) -> None:
    """One statement (``ON CONFLICT DO UPDATE``): the consumer and a contract's read-through
    may insert the same company at the same moment, and neither may fail for it."""
    data = event.company
    values = {
        "name": data.name,
        "external_ref": data.external_ref,
        "tax_rate": data.tax_rate,
        "currency": data.currency,
    }
    stmt = insert(_companies, dialect_of(session)).values(id=data.id, tenant_id=tenant_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))


on_module_billing = module_billing_handler(ModuleBillingRow)


def register(runtime: EventRuntime) -> None:
    runtime.consume("usage", {UsageResolved: on_usage_resolved})
    runtime.consume(
        "reference",
        {CompanyChanged: on_company_changed, ModuleBillingChanged: on_module_billing},
    )
