"""Usage as mapping keeps it: stored, resolved, and re-resolved when a mapping changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import (
    TENANT_WIDE,
    ModuleOrgRow,
    OrgMappingRow,
    ServiceMappingRow,
    UsageRow,
)
from services.mapping.resolution.rules import (
    MetricKey,
    OrgKey,
    OrgTarget,
    Resolver,
    UsageKeyed,
)
from shared.db import chunks, insert_rows, rows_by_keys
from shared.events import ResolvedUsage, UsageRecord

_usage = cast(Table, UsageRow.__table__)
_orgs = cast(Table, ModuleOrgRow.__table__)
KEY_CHUNK = 2000


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def load_resolver(
    session: AsyncSession, tenant_id: str, orgs: Iterable[OrgKey], metrics: Iterable[MetricKey]
) -> Resolver:
    resolver = Resolver()
    org_list, metric_list = list(set(orgs)), list(set(metrics))
    m = OrgMappingRow
    for part in chunks(org_list, KEY_CHUNK):
        rows = await session.execute(
            rows_by_keys(
                dialect_name(session),
                [m.module.expression, m.org_id.expression],
                part,
                [
                    m.module.expression,
                    m.org_id.expression,
                    m.company_id.expression,
                    m.excluded.expression,
                ],
                m.tenant_id == tenant_id,
            )
        )
        for row in rows:
            resolver.orgs[(row.module, row.org_id)] = OrgTarget(row.company_id, row.excluded)
    if metric_list:
        rows2 = await session.scalars(
            select(ServiceMappingRow).where(
                ServiceMappingRow.tenant_id == tenant_id,
                tuple_(ServiceMappingRow.module, ServiceMappingRow.metric).in_(metric_list),
            )
        )
        for sm in rows2:
            codes = tuple(sm.service_codes)
            if sm.company_id == TENANT_WIDE:
                resolver.tenant_services[(sm.module, sm.metric)] = codes
            else:
                resolver.company_services[(sm.module, sm.metric, sm.company_id)] = codes
    return resolver


async def _note_orgs(session: AsyncSession, tenant_id: str, records: Sequence[UsageRecord]) -> None:
    """Discovers module orgs; the name of the most recent day wins (renames)."""
    seen: dict[OrgKey, dict[str, Any]] = {}
    for r in records:
        item = seen.get((r.module, r.org_id))
        if item is None:
            seen[(r.module, r.org_id)] = {
                "tenant_id": tenant_id,
                "module": r.module,
                "org_id": r.org_id,
                "org_name": r.org_name,
                "first_seen": r.date,
                "last_seen": r.date,
            }
            continue
        item["first_seen"] = min(item["first_seen"], r.date)
        if r.date >= item["last_seen"]:
            item["last_seen"], item["org_name"] = r.date, r.org_name

    def newer(stmt: Any) -> Any:
        c, new = _orgs.c, stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=["tenant_id", "module", "org_id"],
            set_={
                "org_name": _case_newer(new.last_seen, c.last_seen, new.org_name, c.org_name),
                "first_seen": _least(new.first_seen, c.first_seen),
                "last_seen": _greatest(new.last_seen, c.last_seen),
            },
            # only an org the batch changes: days it reported before (a correction, a day
            # sent again, the rest of a day's metrics) change nothing, and an update that
            # changes nothing would still write the row again
            where=or_(
                new.first_seen < c.first_seen,
                new.last_seen > c.last_seen,
                and_(new.last_seen == c.last_seen, new.org_name != c.org_name),
            ),
        )

    await insert_rows(session, _orgs, list(seen.values()), newer)


def _case_newer(new_day: Any, old_day: Any, new_value: Any, old_value: Any) -> Any:
    return case((new_day >= old_day, new_value), else_=old_value)


def _least(a: Any, b: Any) -> Any:
    return case((a < b, a), else_=b)


def _greatest(a: Any, b: Any) -> Any:
    return case((a > b, a), else_=b)


async def record_usage(
    session: AsyncSession, tenant_id: str, records: Sequence[UsageRecord]
) -> list[ResolvedUsage]:
    """Stores newer revisions and answers their resolutions (older or equal ones are ignored)."""
    await _note_orgs(session, tenant_id, records)
    latest: dict[tuple[Any, ...], UsageRecord] = {}
    for r in records:
        key = (r.module, r.org_id, r.metric, r.date)
        if key not in latest or latest[key].revision < r.revision:
            latest[key] = r
    rows = [
        {
            "tenant_id": tenant_id,
            "module": r.module,
            "org_id": r.org_id,
            "metric": r.metric,
            "day": r.date,
            "quantity": r.quantity,
            "revision": r.revision,
            "version": 1,
        }
        for r in latest.values()
    ]

    c = _usage.c

    def newer_revision(stmt: Any) -> Any:
        new = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=["tenant_id", "module", "org_id", "metric", "day"],
            set_={"quantity": new.quantity, "revision": new.revision, "version": c.version + 1},
            where=c.revision < new.revision,
        )

    written = cast(
        list[UsageKeyed],
        await insert_rows(
            session,
            _usage,
            rows,
            newer_revision,
            returning=[c.module, c.org_id, c.metric, c.day, c.quantity, c.version],
        ),
    )
    resolver = await load_resolver(
        session,
        tenant_id,
        ((module, org_id) for module, org_id, *_ in written),
        ((module, metric) for module, _, metric, *_ in written),
    )
    return resolver.resolve_all(written)


async def reresolve(
    session: AsyncSession, tenant_id: str, where: ColumnElement[bool]
) -> list[ResolvedUsage]:
    """Bumps the version of every matching record and answers the new resolutions."""
    c = _usage.c
    stmt = (
        update(_usage)
        .where(c.tenant_id == tenant_id, where)
        .values(version=c.version + 1)
        .returning(c.module, c.org_id, c.metric, c.day, c.quantity, c.version)
    )
    rows = cast(list[UsageKeyed], (await session.execute(stmt)).all())
    resolver = await load_resolver(
        session,
        tenant_id,
        {(module, org_id) for module, org_id, *_ in rows},
        {(module, metric) for module, _, metric, *_ in rows},
    )
    return resolver.resolve_all(rows)


async def count_by_org(
    session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]
) -> dict[OrgKey, int]:
    """How many usage records each org has (from the primary key's index alone)."""
    c = _usage.c
    counts: dict[OrgKey, int] = dict.fromkeys(keys, 0)
    for part in chunks(list(counts), KEY_CHUNK // 2):
        query = (
            select(c.module, c.org_id, func.count())
            .where(c.tenant_id == tenant_id, of_orgs(part))
            .group_by(c.module, c.org_id)
        )
        for module, org_id, n in await session.execute(query):
            counts[(module, org_id)] = n
    return counts


def of_org(module: str, org_id: str) -> ColumnElement[bool]:
    return and_(_usage.c.module == module, _usage.c.org_id == org_id)


def of_orgs(keys: Sequence[OrgKey]) -> ColumnElement[bool]:
    """Usage of the orgs, as ``module = ? AND org_id IN (...)`` per module: the primary key's
    order, so both databases seek instead of scanning for row values."""
    by_module: dict[str, list[str]] = {}
    for module, org_id in keys:
        by_module.setdefault(module, []).append(org_id)
    return or_(
        *(
            and_(_usage.c.module == module, _usage.c.org_id.in_(ids))
            for module, ids in sorted(by_module.items())
        )
    )


def of_metric(module: str, metric: str, company_id: str | None = None) -> ColumnElement[bool]:
    """Usage of a metric; for a company override only that of orgs mapped to the company."""
    cond = and_(_usage.c.module == module, _usage.c.metric == metric)
    if company_id is None:
        return cond
    mapped = select(OrgMappingRow.org_id).where(
        OrgMappingRow.tenant_id == _usage.c.tenant_id,
        OrgMappingRow.module == module,
        OrgMappingRow.company_id == company_id,
    )
    return and_(cond, _usage.c.org_id.in_(mapped.scalar_subquery()))
