"""The chaos run end to end: the stack on a private PostgreSQL and Kafka, a reference tenant
fed fault-free, then the chaos tenant fed the same input through the fault schedule, both
read back and compared, and what the stack wrote searched for the secrets it was given."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.chaos.compare import Findings, compare
from bench.chaos.faults import Injected, Injector
from bench.chaos.infra import Infra
from bench.chaos.load import (
    Client,
    Input,
    Retries,
    auto_map,
    billing_run,
    chaos_input,
    ingest,
    post_drafts,
    set_up,
)
from bench.chaos.phases import ShareFaults, with_timed_faults
from bench.chaos.schedule import Fault, describe, make_schedule
from bench.chaos.secrets import Planted, leaks, plant
from bench.chaos.settle import settled
from tests.support.stack import Stack

RESOLVING = "SELECT count(*) FROM mapping.pending_resolutions WHERE tenant_id = $1"


@dataclass
class ChaosStack(Stack):
    """The e2e stack with the client's rate limit out of the way and billing runs answered
    at once (202), so a run can be killed while it works."""

    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "ICB_RATE_LIMIT_PER_SECOND": "100000",
            "ICB_RATE_LIMIT_BURST": "100000",
            "ICB_BILLING_RUN_WAIT_SECONDS": "0",
        }


@dataclass
class Report:
    records: int
    seed: int
    schedule: list[Fault]
    injected: list[Injected] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)
    retries: Retries = field(default_factory=Retries)
    leaks: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.findings.clean and not self.leaks and not self.retries.server_errors

    def lines(self) -> list[str]:
        recoveries = [i.recovery for i in self.injected]
        r = self.retries
        return [
            f"chaos run: {self.records} records, seed {self.seed}, "
            f"{len(self.injected)} faults injected",
            *(f"  {i.line()}" for i in self.injected),
            f"recovery: longest {max(recoveries, default=0):.1f}s, "
            f"mean {sum(recoveries) / max(1, len(recoveries)):.1f}s",
            f"client retries: {r.connection_errors} connection errors, {r.unavailable} x 503, "
            f"{r.rate_limited} x 429, {len(r.server_errors)} other 5xx",
            *(f"  {e}" for e in r.server_errors[:10]),
            *self.findings.lines(),
            f"secrets in logs and audit: {len(self.leaks)}",
            *(f"  {leak}" for leak in self.leaks),
            "phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()),
        ]


def _phase(schedule: list[Fault], name: str) -> list[Fault]:
    return [f for f in schedule if f.phase == name]


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self._timings, self._name = timings, name

    def __enter__(self) -> None:
        self._began = time.monotonic()

    def __exit__(self, *_: object) -> None:
        self._timings[self._name] = time.monotonic() - self._began


async def _reference(stack: ChaosStack, client: Client, data: Input, posts: int | None) -> None:
    await ingest(client, data)
    await settled(stack.dsn, stack.kafka, stack.topic_prefix)
    await auto_map(client)
    await settled(stack.dsn, stack.kafka, stack.topic_prefix)
    await billing_run(client, data.period)
    await post_drafts(client, data.period, posts)


async def _under_faults(
    stack: ChaosStack,
    admin: Client,
    ingesting: Client,
    data: Input,
    injector: Injector,
    schedule: list[Fault],
    posts: int | None,
    tenant_id: str,
) -> None:
    async def catch_up() -> float:
        return await settled(stack.dsn, stack.kafka, stack.topic_prefix)

    async def bill() -> dict[str, Any]:
        return await billing_run(admin, data.period)

    async def resolving() -> str:
        conn = await asyncpg.connect(stack.dsn)
        try:
            orgs = await conn.fetchval(RESOLVING, tenant_id)
        finally:
            await conn.close()
        return f"{orgs} orgs awaiting re-resolution"

    async def run_state() -> dict[str, Any]:
        runs = await admin.json("GET", "/v1/billing-runs", period=data.period, limit=1)
        return dict(runs["items"][0]) if runs["items"] else {}

    async def billing() -> str:
        run = await run_state()
        return (
            f"run {run.get('status')}, {run.get('companies_billed')} of "
            f"{run.get('companies_total')} companies billed"
        )

    async def billing_started() -> bool:
        """A worker took the run up (its progress shows only with the lease's heartbeat)."""
        return (await run_state()).get("status") in ("running", "succeeded", "failed")

    usage = ShareFaults(injector, _phase(schedule, "ingest"))
    await ingest(ingesting, data, usage.gate)
    await usage.finish()
    await catch_up()
    await auto_map(admin)
    await with_timed_faults(injector, _phase(schedule, "automap"), catch_up, resolving)
    await catch_up()
    await with_timed_faults(
        injector, _phase(schedule, "billing"), bill, billing, armed=billing_started
    )
    posting = ShareFaults(injector, _phase(schedule, "posting"))
    await post_drafts(admin, data.period, posts, posting.gate)
    await posting.finish()
    await catch_up()


async def chaos_run(
    records: int, seed: int, rounds: int, workdir: Path, infra: Infra, posts: int | None = None
) -> Report:
    """``posts``: how many drafts to post (default: all of them)."""
    schedule = make_schedule(seed, rounds)
    report = Report(records, seed, schedule)
    print(describe(seed, schedule), flush=True)
    data = chaos_input(records, seed)
    await infra.up()
    stack = ChaosStack(infra.database_url, infra.kafka, workdir)
    clients: list[Client] = []
    try:
        with _Timer(report.timings, "stack up"):
            await stack.up()
        assert stack.admin is not None
        ref_tenant = await stack.new_tenant("Reference MSP")
        chaos_tenant = await stack.new_tenant("Chaos MSP")
        url = stack.url("gateway")
        ref, admin = Client(url, ref_tenant.key), Client(url, chaos_tenant.key)
        clients += [ref, admin]
        planted = Planted({"admin API key": chaos_tenant.key})

        async def reference() -> None:
            await set_up(ref, data)
            await _reference(stack, ref, data, posts)

        async def chaos_set_up() -> Client:
            await set_up(admin, data)
            return Client(url, await plant(admin, planted))

        with _Timer(report.timings, "reference, and the other tenant's set-up"):
            _, ingesting = await asyncio.gather(reference(), chaos_set_up())
            clients.append(ingesting)
        injector = Injector(stack, infra, chaos_tenant.key, ingesting.sending, seed)
        with _Timer(report.timings, "under faults"):
            await _under_faults(
                stack, admin, ingesting, data, injector, schedule, posts, chaos_tenant.id
            )
        report.injected = injector.done
        for client in (admin, ingesting):
            report.retries.connection_errors += client.retries.connection_errors
            report.retries.unavailable += client.retries.unavailable
            report.retries.rate_limited += client.retries.rate_limited
            report.retries.server_errors += client.retries.server_errors
        with _Timer(report.timings, "compare"):
            report.findings = await compare(
                stack.dsn, stack.kafka, stack.topic_prefix, chaos_tenant.id, ref_tenant.id
            )
        files = await asyncio.to_thread(
            lambda: [*(p for p in workdir.rglob("*") if p.is_file()), *infra.logs()]
        )
        report.leaks = await leaks(files, stack.dsn, planted)
    finally:
        for client in clients:
            await client.close()
        await stack.down()
    return report
