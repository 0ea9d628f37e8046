"""The modules' use cases: the catalog as the tenant sees it, and turning billing on or off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleSyncRow
from services.ingest.modules import repository
from services.ingest.sync import repository as syncs
from services.ingest.sync.schedule import as_utc
from services.ingest.sync.status import SyncStatus
from shared.catalog import CATALOG, Metric
from shared.events import ModuleBillingChanged
from shared.outbox import Outbox


@dataclass(frozen=True)
class LastSync:
    date: date
    status: SyncStatus
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ModuleSyncRow | None) -> LastSync | None:
        if row is None:
            return None
        finished = as_utc(row.finished_at) if row.finished_at else None
        return cls(row.day, row.status, finished)


@dataclass(frozen=True)
class ModuleView:
    """One catalog module with the tenant's billing state, activity and pull status."""

    module: str
    name: str
    metrics: tuple[Metric, ...]
    billing_enabled: bool
    effective_from: date | None
    last_usage_date: date | None
    org_count: int
    connected: bool
    last_sync: LastSync | None


async def list_modules(session: AsyncSession, tenant_id: str) -> list[ModuleView]:
    """Every catalog module, in catalog order."""
    activity = await repository.module_activity(session, tenant_id)
    billing = await repository.module_billing(session, tenant_id)
    connected = await syncs.connected_modules(session, tenant_id)
    latest = await syncs.latest_syncs(session, tenant_id)
    out = []
    for module in CATALOG.modules:
        state = billing.get(module.id)
        seen = activity.get(module.id)
        out.append(
            ModuleView(
                module=module.id,
                name=module.name,
                metrics=tuple(module.metrics),
                billing_enabled=bool(state and state.enabled),
                effective_from=state.effective_from if state else None,
                last_usage_date=seen.last_usage_date if seen else None,
                org_count=seen.org_count if seen else 0,
                connected=module.id in connected,
                last_sync=LastSync.of(latest.get(module.id)),
            )
        )
    return out


async def set_billing(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    module: str,
    enabled: bool,
    effective_from: date | None,
    today: date,
    now: datetime,
) -> ModuleView:
    """Billing applies to usage of days from ``effective_from`` on (enabled without one:
    ``today``); ``module.billing_changed`` tells mapping in the same transaction."""
    if enabled and effective_from is None:
        effective_from = today
    await repository.set_module_billing(session, tenant_id, module, enabled, effective_from, now)
    await outbox.add(
        session,
        tenant_id,
        ModuleBillingChanged(module=module, enabled=enabled, effective_from=effective_from),
    )
    return next(m for m in await list_modules(session, tenant_id) if m.module == module)
