"""kill -9 during the bench's load: a sample MSP of 25,000 records goes through the gateway the
way the end-to-end bench posts it (requests of 1,000 records, 4 at a time, bench/load.py),
and while it does, invoicing, mapping and ingest are killed one after the other and started
again. The client sends a request that failed again, body for body, as a real integration
does. Once the pipeline has settled, the unit table must be the one the sample implies, key
by key (each record once, at its quantity, on the services its mapping gives, applied once),
and the final answers of the requests must count every record exactly once."""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import asyncpg
import pytest

from bench.chaos.compare import Findings, UnitKey, compare_units, read_topics, units_of
from bench.chaos.settle import settled
from bench.e2e import sample_for
from bench.load import BATCH, UsageLoad, usage_bodies
from tests.support.polling import Pending, wait_for
from tests.support.scenario import tally
from tests.support.stack import Stack
from tools.sample import SampleMsp
from tools.sample.load import LoadReport, load_setup, map_orgs_by_truth
from tools.sample.model import SampleRecord

pytestmark = pytest.mark.e2e

RECORDS = 25_000
KILLS = (("invoicing", 6), ("mapping", 12), ("ingest", 18))
"""each victim and the requests answered before it is killed: the requests from that one on
wait until the victim before has been started again (so every kill comes while the load
runs), and the kill comes the next time the victim is inside a database transaction that has
written (a consumer's batch, a request's records, an outbox relay's round)"""
DOWN_SECONDS = 1.0
"""how long a victim stays down before it is started again"""
KILL_SECONDS = 60.0
SETTLE_SECONDS = 120.0
OUTAGE_ANSWERS = {"503", "429"}
"""what the client may retry: an outage behind the gateway answers 503 (never 500 or 502),
and the key's rate limit 429; the gateway itself is never killed, so no connection fails"""


def expected_units(msp: SampleMsp, records: list[SampleRecord]) -> dict[UnitKey, tuple[Any, ...]]:
    """The fault-free unit table (as ``units_of`` reads it): every record once, version 1,
    on each service its (module, metric) maps to when its org belongs to a company (mapped
    by truth), else unmapped on no service."""
    codes = msp.service_mappings()
    refs = {c.key: c.external_ref for c in msp.companies}
    owner = {(o.module, o.org_id): o.company_key for o in msp.orgs}
    units: dict[UnitKey, tuple[Any, ...]] = {}
    for module, org_id, _, metric, day, quantity in records:
        company = owner[(module, org_id)]
        if company is None:
            units[(module, org_id, metric, day, "")] = ("unmapped", None, quantity, 1)
            continue
        for code in codes.get((module, metric)) or ("",):
            units[(module, org_id, metric, day, code)] = ("mapped", refs[company], quantity, 1)
    return units


@dataclass
class Kills:
    """Kills each victim of ``KILLS`` while the load runs and starts it again; ``pace``
    holds the load's requests so that every kill comes before the load is done."""

    stack: Stack
    load: UsageLoad | None = None
    armed: list[asyncio.Event] = field(default_factory=lambda: [asyncio.Event() for _ in KILLS])
    done: list[tuple[str, int]] = field(default_factory=list)
    """(victim, requests answered when it was killed)"""

    async def pace(self, request: int) -> None:
        for armed, (_, at) in zip(self.armed, KILLS, strict=True):
            if request >= at:
                await armed.wait()

    async def run(self) -> None:
        load = self.load
        assert load is not None
        for armed, (victim, at) in zip(self.armed, KILLS, strict=True):
            armed.set()

            async def answered(n: int = at) -> bool | Pending:
                return load.answered >= n or Pending(f"{load.answered} answered, need {n}")

            await wait_for(answered, KILL_SECONDS, f"the load before killing {victim}")
            await wait_for(
                functools.partial(self.stack.writing, victim),
                KILL_SECONDS,
                f"{victim} inside a transaction",
                interval=0.005,
            )
            self.done.append((victim, load.answered))
            await self.stack.kill(victim)
            await asyncio.sleep(DOWN_SECONDS)
            await self.stack.start(victim)


async def test_kill_9_during_the_bench_load_loses_and_doubles_nothing(stack: Stack) -> None:
    msp = sample_for(RECORDS)
    records = list(islice(msp.records(), RECORDS))
    expected = expected_units(msp, records)
    assert len({r[:2] + r[3:5] for r in records}) == RECORDS, "a record twice in the sample"
    tenant = await stack.new_tenant()
    kills = Kills(stack)
    async with stack.client(tenant.key) as api:
        report = LoadReport()
        await load_setup(api, msp, report)
        await map_orgs_by_truth(api, msp, report, concurrency=4)
        load = kills.load = UsageLoad(api, usage_bodies(records), retry=True, pace=kills.pace)
        tasks = [asyncio.create_task(load.run()), asyncio.create_task(kills.run())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for victim, _ in KILLS:
                if not stack.running(victim):
                    await stack.start(victim)

    assert [victim for victim, _ in kills.done] == [victim for victim, _ in KILLS]
    assert all(answered < len(load.bodies) for _, answered in kills.done), kills.done
    assert "503" in load.retried, "the ingest kill failed no request"
    assert set(load.retried) <= OUTAGE_ANSWERS, load.retried

    sizes = [len(json.loads(body)["records"]) for body in load.bodies]
    assert sum(sizes) == RECORDS and max(sizes) == BATCH
    counted = [tally(answer) for answer in load.answers()]
    assert [(a + u, c, r) for a, u, c, r in counted] == [(n, 0, 0) for n in sizes], counted
    assert sum(a + u for a, u, *_ in counted) == RECORDS

    await settled(stack.dsn, stack.kafka, stack.topic_prefix, SETTLE_SECONDS)
    conn = await asyncpg.connect(stack.dsn)
    try:
        units = await units_of(conn, tenant.id)
    finally:
        await conn.close()
    findings = Findings()
    compare_units(findings, units, expected)
    await read_topics(findings, stack.kafka, stack.topic_prefix, tenant.id)
    assert (findings.lost, findings.doubled, findings.twice) == (0, 0, []), findings.examples[:10]
    assert units == expected
