"""Mapping changes on real PostgreSQL, where the set-based statements take their PostgreSQL
forms (keys as arrays through ``unnest``, upserts, ``FOR UPDATE SKIP LOCKED``): many orgs
changed at once re-resolve exactly their usage with the audit of each change; orgs and service
mappings queued for re-resolution are worked off in batches without losing a later change,
survive a crash, have one effect when worked again, and are never worked by two workers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, or_, select, text

from services.mapping.app import build_runtime
from services.mapping.models import (
    TENANT_WIDE,
    MappingAuditRow,
    OrgMappingRow,
    PendingMetricResolutionRow,
    PendingResolutionRow,
    ServiceMappingRow,
    UsageRow,
)
from services.mapping.resolution import reresolution
from services.mapping.resolution.audit import Action
from services.mapping.resolution.org_mappings import OrgChange, change_org_mappings
from services.mapping.resolution.reresolution import ResolutionQueue
from services.mapping.resolution.rules import OrgTarget
from services.mapping.resolution.service_mappings import change_service_mapping
from services.mapping.resolution.usage import record_usage
from services.mapping.runtime import MappingRuntime
from services.mapping.settings import MappingSettings
from shared.bus import InProcessBus
from shared.db import create_engine
from shared.events import UsageRecord
from shared.migrations import alembic_config, migrate_all
from shared.problems import NotFound
from tests.unit.mapping.test_usage_revisions import newest_revision_wins

pytestmark = pytest.mark.integration

RMM = "datto_rmm"
DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(2)]
ORGS = 1200  # more than one chunk of orgs per statement


@pytest.fixture(scope="module")
async def runtime(fresh_database_url: str) -> AsyncIterator[MappingRuntime]:
    """Mapping on the database, its loops not running: the tests drive every step."""
    await asyncio.to_thread(migrate_all, fresh_database_url)
    settings = MappingSettings(environment="test", database_url=fresh_database_url)
    engine = create_engine(fresh_database_url, "mapping", 5)
    try:
        yield build_runtime(settings, engine, InProcessBus())
    finally:
        await engine.dispose()


def org(i: int) -> str:
    return f"org-{i:05d}"


async def tenant_with_usage(runtime: MappingRuntime, orgs: int) -> str:
    """A tenant whose orgs each sent servers and desktops on two days; servers feed ``SRV``
    tenant-wide and ``SRV-VIP`` for company ``c-2``."""
    tenant_id = str(uuid.uuid4())
    records = [
        UsageRecord(
            module=RMM,
            org_id=org(i),
            org_name=f"Org {i}",
            metric=metric,
            date=day,
            quantity=Decimal(i % 7),
            revision=1,
        )
        for i in range(orgs)
        for metric in ("servers", "desktops_laptops")
        for day in DAYS
    ]
    now = datetime.now(UTC)
    async with runtime.transaction() as session:
        await record_usage(session, tenant_id, records)
        for company_id, codes in ((TENANT_WIDE, ["SRV"]), ("c-2", ["SRV-VIP"])):
            session.add(
                ServiceMappingRow(
                    tenant_id=tenant_id,
                    module=RMM,
                    metric="servers",
                    company_id=company_id,
                    service_codes=codes,
                    updated_at=now,
                )
            )
    return tenant_id


async def queue_change(
    runtime: MappingRuntime, tenant_id: str, targets: dict[str, OrgTarget | None]
) -> list[Any]:
    """Commits the org mapping changes with their queued re-resolution."""
    async with runtime.transaction() as session:
        return await change_org_mappings(
            session,
            runtime.outbox,
            tenant_id,
            "it-key",
            [OrgChange(RMM, org_id, target) for org_id, target in targets.items()],
            Action.ORG_AUTO_MAP,
            datetime.now(UTC),
        )


async def drain(queue: ResolutionQueue) -> list[int]:
    """Works the queue until it is empty; what each batch did."""
    done = [await queue.drain_once()]
    while done[-1]:
        done.append(await queue.drain_once())
    return done


async def change(
    runtime: MappingRuntime, tenant_id: str, targets: dict[str, OrgTarget | None]
) -> list[Any]:
    """The changes, and their re-resolution worked off."""
    done = await queue_change(runtime, tenant_id, targets)
    await drain(ResolutionQueue.of(runtime))
    return done


async def versions(runtime: MappingRuntime, tenant_id: str) -> Counter[int]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(UsageRow.version, func.count())
            .where(UsageRow.tenant_id == tenant_id)
            .group_by(UsageRow.version)
        )
        return Counter({version: n for version, n in rows})


async def take_events(runtime: MappingRuntime, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's events in the outbox, oldest first, removed from it."""
    t = runtime.outbox_table
    # Usage events are keyed by tenant and a bucket of (module, org_id), the others by tenant.
    of_tenant = or_(t.c.key == tenant_id, t.c.key.startswith(f"{tenant_id}/"))
    async with runtime.transaction() as session:
        rows = (await session.execute(select(t.c.id, t.c.payload).where(of_tenant))).all()
        await session.execute(t.delete().where(t.c.id.in_([r.id for r in rows])))
    return [json.loads(r.payload) for r in sorted(rows)]


def resolutions(events: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The latest resolution of each (org, metric, day) in ``usage.resolved`` events."""
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        if event["type"] == "usage.resolved":
            for r in event["data"]["records"]:
                latest[(r["org_id"], r["metric"], r["date"])] = r
    return latest


async def audit(runtime: MappingRuntime, tenant_id: str) -> dict[str, tuple[Any, Any]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(MappingAuditRow).where(MappingAuditRow.tenant_id == tenant_id)
        )
        return {r.org_id or "": (r.before, r.after) for r in rows}


async def test_many_orgs_mapped_at_once_reresolve_exactly_their_usage(
    runtime: MappingRuntime,
) -> None:
    tenant_id = await tenant_with_usage(runtime, ORGS)
    await take_events(runtime, tenant_id)
    first = {org(i): OrgTarget(f"c-{1 + i % 2}", False) for i in range(ORGS)}

    done = await change(runtime, tenant_id, first)

    assert [(d.org_id, d.before, d.reresolved) for d in done] == [
        (org_id, None, 2 * len(DAYS)) for org_id in first
    ]
    assert await versions(runtime, tenant_id) == Counter({2: ORGS * 2 * len(DAYS)})
    events = await take_events(runtime, tenant_id)
    resolved = resolutions(events)
    assert len(resolved) == ORGS * 2 * len(DAYS)
    for (org_id, metric, _), r in resolved.items():
        company = first[org_id].company_id
        codes = [] if metric != "servers" else ["SRV-VIP" if company == "c-2" else "SRV"]
        assert (r["status"], r["company_id"], r["service_codes"], r["version"]) == (
            "mapped",
            company,
            codes,
            2,
        )
    changed = [e["data"] for e in events if e["type"] == "mapping.changed"]
    assert sorted((c["org_id"], c["company_id"], c["reresolved"]) for c in changed) == [
        (org_id, t.company_id, 2 * len(DAYS)) for org_id, t in sorted(first.items())
    ]
    assert await audit(runtime, tenant_id) == {
        org_id: (None, {"company_id": t.company_id, "excluded": False})
        for org_id, t in first.items()
    }

    # Then a mix: remapped, excluded, removed, and one put again as it is (no audit row).
    second: dict[str, OrgTarget | None] = {
        **{org(i): OrgTarget("c-3", False) for i in range(0, 10)},
        **{org(i): OrgTarget(None, True) for i in range(10, 15)},
        **{org(i): None for i in range(15, 20)},
        org(20): first[org(20)],
    }
    async with runtime.sessions() as session:
        before_audit = await session.scalar(select(func.count()).select_from(MappingAuditRow))
    done = await change(runtime, tenant_id, second)

    assert [d.before for d in done] == [first[org_id] for org_id in second]
    events = await take_events(runtime, tenant_id)
    resolved = resolutions(events)
    assert {k[0] for k in resolved} == set(second)
    assert {org_id: (r["status"], r["company_id"]) for (org_id, *_), r in resolved.items()} == {
        org_id: ("unmapped", None)
        if t is None
        else ("excluded", None)
        if t.excluded
        else ("mapped", t.company_id)
        for org_id, t in second.items()
    }
    assert all(r["version"] == 3 for r in resolved.values())
    async with runtime.sessions() as session:
        audited = await session.scalar(select(func.count()).select_from(MappingAuditRow))
        left = set(
            await session.scalars(
                select(OrgMappingRow.org_id).where(OrgMappingRow.tenant_id == tenant_id)
            )
        )
    assert audited == before_audit + 20
    assert left == set(first) - {org(i) for i in range(15, 20)}
    trail = await audit(runtime, tenant_id)
    assert trail[org(0)] == (
        {"company_id": "c-1", "excluded": False},
        {"company_id": "c-3", "excluded": False},
    )
    assert trail[org(17)] == ({"company_id": "c-2", "excluded": False}, None)

    # Removing a mapping that does not exist is refused before anything is written.
    now = await versions(runtime, tenant_id)
    with pytest.raises(NotFound):
        await change(runtime, tenant_id, {org(1): None, org(15): None})
    assert await versions(runtime, tenant_id) == now
    assert await take_events(runtime, tenant_id) == []


async def test_queued_orgs_are_worked_off_in_batches(runtime: MappingRuntime) -> None:
    tenant_id = await tenant_with_usage(runtime, 30)
    await take_events(runtime, tenant_id)
    targets = {org(i): OrgTarget("c-1", False) for i in range(30)}

    done = await queue_change(runtime, tenant_id, targets)

    assert all(d.reresolved == 2 * len(DAYS) for d in done)
    assert await versions(runtime, tenant_id) == Counter({1: 30 * 2 * len(DAYS)})
    assert [e["type"] for e in await take_events(runtime, tenant_id)] == ["mapping.changed"] * 30
    queue = ResolutionQueue.of(runtime, batch_orgs=7)
    assert [await queue.drain_once() for _ in range(6)] == [7, 7, 7, 7, 2, 0]
    assert await versions(runtime, tenant_id) == Counter({2: 30 * 2 * len(DAYS)})
    resolved = resolutions(await take_events(runtime, tenant_id))
    assert len(resolved) == 30 * 2 * len(DAYS)
    assert {(r["status"], r["company_id"], r["version"]) for r in resolved.values()} == {
        ("mapped", "c-1", 2)
    }


async def test_an_org_queued_again_while_a_batch_holds_it_stays_queued(
    runtime: MappingRuntime,
) -> None:
    tenant_id = await tenant_with_usage(runtime, 2)
    now = datetime.now(UTC)
    async with runtime.transaction() as session:
        await reresolution.enqueue(session, tenant_id, [(RMM, org(0)), (RMM, org(1))], now)
    pending = PendingResolutionRow
    mine = pending.tenant_id == tenant_id

    # A batch has locked org 0 and resolves it with the mapping it read ...
    async with runtime.sessions() as batch, batch.begin():
        held = await batch.scalars(
            select(pending.org_id).where(mine, pending.org_id == org(0)).with_for_update()
        )
        assert list(held) == [org(0)]

        # ... when a change of org 0 commits and queues it again: that waits for the batch.
        async def queue_again() -> None:
            async with runtime.transaction() as session:
                await reresolution.enqueue(session, tenant_id, [(RMM, org(0))], now)

        again = asyncio.create_task(queue_again())
        done, _ = await asyncio.wait({again}, timeout=0.5)
        assert not done
        await batch.execute(pending.__table__.delete().where(mine, pending.org_id == org(0)))
    await asyncio.wait_for(again, 10)
    async with runtime.sessions() as session:
        assert set(await session.scalars(select(pending.org_id).where(mine))) == {org(0), org(1)}

    # A batch skips an org whose row another transaction holds, instead of waiting for it.
    queue = ResolutionQueue.of(runtime, batch_orgs=10)
    async with runtime.sessions() as other, other.begin():
        await reresolution.enqueue(other, tenant_id, [(RMM, org(1))], now)
        assert await asyncio.wait_for(queue.drain_once(), 10) == 1
    assert await queue.drain_once() == 1
    async with runtime.sessions() as session:
        assert await reresolution.waiting(session, tenant_id) == 0


SERVERS = (RMM, "servers", TENANT_WIDE)


async def queue_service_mapping(
    runtime: MappingRuntime, tenant_id: str, key: tuple[str, str, str], codes: list[str]
) -> int:
    async with runtime.transaction() as session:
        return await change_service_mapping(
            session, runtime.outbox, tenant_id, "it-key", key, codes, datetime.now(UTC)
        )


async def metric_versions(runtime: MappingRuntime, tenant_id: str) -> Counter[tuple[str, int]]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(UsageRow.metric, UsageRow.version, func.count())
            .where(UsageRow.tenant_id == tenant_id)
            .group_by(UsageRow.metric, UsageRow.version)
        )
        return Counter({(metric, version): n for metric, version, n in rows})


async def test_a_queued_service_mapping_change_survives_a_crash_and_has_one_effect(
    runtime: MappingRuntime, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs = 12
    tenant_id = await tenant_with_usage(runtime, orgs)
    await change(
        runtime, tenant_id, {org(i): OrgTarget(f"c-{1 + i % 2}", False) for i in range(orgs)}
    )
    await take_events(runtime, tenant_id)
    records = orgs * len(DAYS)  # of one metric

    assert await queue_service_mapping(runtime, tenant_id, SERVERS, ["SRV-2"]) == records
    # The service dies before its queue works the change: a new process on the database ...
    engine = create_engine(fresh_database_url, "mapping", 2)
    try:
        restarted = build_runtime(runtime.settings, engine, InProcessBus())
        queue = ResolutionQueue.of(restarted)
        real, failures = reresolution.reresolve_metric, []

        async def flaky(*args: Any) -> int:
            count = await real(*args)  # did its writes, then fails before the commit
            if not failures:
                failures.append(1)
                raise RuntimeError("database went away")
            return count

        monkeypatch.setattr(reresolution, "reresolve_metric", flaky)
        with pytest.raises(RuntimeError):
            await queue.drain_once()
        async with restarted.sessions() as session:
            assert await reresolution.waiting(session, tenant_id) == 1
        # ... works it off once: the failed attempt left nothing behind.
        assert await drain(queue) == [1, 0]
    finally:
        await engine.dispose()
    assert await metric_versions(runtime, tenant_id) == Counter(
        {("servers", 3): records, ("desktops_laptops", 2): records}
    )
    events = await take_events(runtime, tenant_id)
    assert [e["data"]["reresolved"] for e in events if e["type"] == "mapping.changed"] == [records]
    resolved = resolutions(events)
    assert {k[1] for k in resolved} == {"servers"}
    assert {(r["company_id"], tuple(r["service_codes"])) for r in resolved.values()} == {
        ("c-1", ("SRV-2",)),
        ("c-2", ("SRV-VIP",)),  # its override wins
    }

    # Queued again and worked again: the same resolutions under newer versions.
    async with runtime.transaction() as session:
        await reresolution.enqueue_metrics(session, tenant_id, [SERVERS], datetime.now(UTC))
    assert await drain(ResolutionQueue.of(runtime)) == [1, 0]
    again = resolutions(await take_events(runtime, tenant_id))
    assert {k: {**r, "version": 3} for k, r in again.items()} == resolved
    assert {r["version"] for r in again.values()} == {4}


async def test_a_company_override_reresolves_only_its_company_usage(
    runtime: MappingRuntime,
) -> None:
    tenant_id = await tenant_with_usage(runtime, 6)
    await change(runtime, tenant_id, {org(i): OrgTarget(f"c-{1 + i % 2}", False) for i in range(6)})
    await take_events(runtime, tenant_id)

    count = await queue_service_mapping(runtime, tenant_id, (RMM, "servers", "c-2"), ["VIP-2"])

    assert count == 3 * len(DAYS)
    await drain(ResolutionQueue.of(runtime))
    resolved = resolutions(await take_events(runtime, tenant_id))
    assert {(k[0], r["service_codes"][0], r["version"]) for k, r in resolved.items()} == {
        (org(i), "VIP-2", 3) for i in (1, 3, 5)
    }


async def test_two_workers_never_work_the_same_queued_service_mapping(
    runtime: MappingRuntime,
) -> None:
    tenant_id = await tenant_with_usage(runtime, 4)
    await change(runtime, tenant_id, {org(i): OrgTarget("c-1", False) for i in range(4)})
    for metric in ("servers", "desktops_laptops"):
        await queue_service_mapping(runtime, tenant_id, (RMM, metric, TENANT_WIDE), ["X"])
    pending = PendingMetricResolutionRow
    mine = pending.tenant_id == tenant_id
    one, other = ResolutionQueue.of(runtime), ResolutionQueue.of(runtime)

    # A worker skips the row another worker holds, rather than waiting for it or taking it.
    async with runtime.sessions() as holder, holder.begin():
        held = await holder.scalars(
            select(pending.metric).where(mine, pending.metric == "servers").with_for_update()
        )
        assert list(held) == ["servers"]
        assert await asyncio.wait_for(one.drain_once(), 10) == 1
        assert await asyncio.wait_for(other.drain_once(), 10) == 0
    assert await metric_versions(runtime, tenant_id) == Counter(
        {("servers", 2): 4 * len(DAYS), ("desktops_laptops", 3): 4 * len(DAYS)}
    )

    # Two workers at once (servers still queued, queued again): each row is worked by
    # exactly one of them.
    for metric in ("servers", "desktops_laptops"):
        await queue_service_mapping(runtime, tenant_id, (RMM, metric, TENANT_WIDE), ["Y"])
    await take_events(runtime, tenant_id)
    assert sorted(await asyncio.gather(one.drain_once(), other.drain_once())) == [1, 1]
    assert await drain(one) == [0]
    assert await metric_versions(runtime, tenant_id) == Counter(
        {("servers", 3): 4 * len(DAYS), ("desktops_laptops", 4): 4 * len(DAYS)}
    )


async def test_a_service_mapping_changed_again_while_a_batch_holds_it_stays_queued(
    runtime: MappingRuntime,
) -> None:
    tenant_id = await tenant_with_usage(runtime, 2)
    await queue_service_mapping(runtime, tenant_id, SERVERS, ["A"])
    pending = PendingMetricResolutionRow
    mine = pending.tenant_id == tenant_id

    async with runtime.sessions() as batch, batch.begin():
        held = await batch.scalars(select(pending.metric).where(mine).with_for_update())
        assert list(held) == ["servers"]
        again = asyncio.create_task(queue_service_mapping(runtime, tenant_id, SERVERS, ["B"]))
        done, _ = await asyncio.wait({again}, timeout=0.5)
        assert not done  # the change waits for the batch that holds the row
        await batch.execute(pending.__table__.delete().where(mine))
    await asyncio.wait_for(again, 10)
    async with runtime.sessions() as session:
        assert await reresolution.waiting(session, tenant_id) == 1
    await take_events(runtime, tenant_id)
    assert await drain(ResolutionQueue.of(runtime)) == [1, 0]
    resolved = resolutions(await take_events(runtime, tenant_id))
    # Unmapped orgs resolve to no service codes; the version proves the newer resolution.
    assert {(r["metric"], r["version"]) for r in resolved.values()} == {("servers", 2)}


async def test_json_columns_keep_the_values_written_as_text_before(
    runtime: MappingRuntime, fresh_database_url: str
) -> None:
    """Migration 0006 turns the JSON text columns into JSONB with the values they held."""
    config = alembic_config("mapping", fresh_database_url)
    await asyncio.to_thread(command.downgrade, config, "0005")
    tenant_id = str(uuid.uuid4())
    try:
        async with runtime.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO mapping.service_mappings VALUES "
                    "(:t, :m, 'servers', '', :codes, now())"
                ),
                {"t": tenant_id, "m": RMM, "codes": json.dumps(["SRV", "SRV-2"])},
            )
            await session.execute(
                text(
                    "INSERT INTO mapping.mapping_audit "
                    "(tenant_id, at, actor, action, module, before, after) "
                    "VALUES (:t, now(), 'k', 'org_mapping.put', :m, NULL, :after)"
                ),
                {"t": tenant_id, "m": RMM, "after": json.dumps({"company_id": "c-1"})},
            )
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
    await runtime.engine.dispose()  # the connections cached the columns' old types
    async with runtime.sessions() as session:
        mapping = await session.scalar(
            select(ServiceMappingRow).where(ServiceMappingRow.tenant_id == tenant_id)
        )
        entry = await session.scalar(
            select(MappingAuditRow).where(MappingAuditRow.tenant_id == tenant_id)
        )
    assert mapping is not None and mapping.service_codes == ["SRV", "SRV-2"]
    assert entry is not None and (entry.before, entry.after) == (None, {"company_id": "c-1"})
    async with runtime.sessions() as session:
        types = await session.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'mapping' AND column_name IN ('service_codes', 'before', "
                "'after')"
            )
        )
        assert {(t, c): d for t, c, d in types} == {
            ("service_mappings", "service_codes"): "jsonb",
            ("contracts", "service_codes"): "jsonb",
            ("mapping_audit", "before"): "jsonb",
            ("mapping_audit", "after"): "jsonb",
        }


async def test_newest_revision_wins_on_postgresql(runtime: MappingRuntime) -> None:
    await newest_revision_wins(runtime.transaction, str(uuid.uuid4()))
