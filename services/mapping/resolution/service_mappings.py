"""Service mappings made, changed or removed: ``(module, metric)`` to the contract services
it feeds, tenant-wide or for one company (an override). The usage the mapping concerns is
queued for re-resolution in the transaction of the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import ServiceMappingRow
from services.mapping.resolution import audit, reresolution
from services.mapping.resolution.reresolution import MetricKey
from shared.events import MappingChanged
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate
from shared.problems import NotFound


async def change_service_mapping(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    actor: str,
    key: MetricKey,
    codes: Sequence[str] | None,
    now: datetime,
) -> int:
    """Sets the service codes (``None`` removes the mapping: a 404 if there is none);
    answers how many usage records are queued for re-resolution."""
    module, metric, company_id = key
    row = await session.get(ServiceMappingRow, (tenant_id, module, metric, company_id))
    before = None if row is None else {"service_codes": list(row.service_codes)}
    if codes is None:
        if row is None:
            raise NotFound(f"No service mapping for {module}/{metric}.")
        await session.delete(row)
    elif row is None:
        session.add(
            ServiceMappingRow(
                tenant_id=tenant_id,
                module=module,
                metric=metric,
                company_id=company_id,
                service_codes=list(codes),
                updated_at=now,
            )
        )
    else:
        row.service_codes, row.updated_at = list(codes), now
    await session.flush()
    count = await reresolution.count_of_metric(session, tenant_id, key)
    await reresolution.enqueue_metrics(session, tenant_id, [key], now)
    await outbox.add(
        session,
        tenant_id,
        MappingChanged(
            kind="service",
            module=module,
            metric=metric,
            company_id=company_id or None,
            service_codes=tuple(codes or ()),
            reresolved=count,
            actor=actor,
        ),
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        now,
        audit.Change(
            audit.Action.SERVICE_DELETE if codes is None else audit.Action.SERVICE_PUT,
            module,
            metric=metric,
            company_id=company_id or None,
            before=before,
            after=None if codes is None else {"service_codes": list(codes)},
        ),
    )
    return count


async def service_mappings(
    session: AsyncSession, tenant_id: str, paging: PageParams
) -> Page[ServiceMappingRow]:
    """By module, metric and company (the tenant-wide mapping, company ``""``, first)."""
    c = ServiceMappingRow
    return await paginate(
        session,
        select(c).where(c.tenant_id == tenant_id),
        [c.module.expression, c.metric.expression, c.company_id.expression],
        paging,
        lambda r: r[0],
        lambda r: (r[0].module, r[0].metric, r[0].company_id),
    )
