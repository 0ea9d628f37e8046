"""Auto-mapping on the sample MSP's labelled module orgs, through the public API: how good
its mappings are, and how long it takes.

The system runs as in production: the four services as processes on PostgreSQL and Kafka
(``bench.stack.running_stack``, from ``ICB_DATABASE_URL`` and ``ICB_KAFKA_BOOTSTRAP_SERVERS``);
``--embedded`` runs the embedded system instead (SQLite, in-process bus). It gets the sample's
companies, billing setup and a month of usage (``load_setup`` + ``load_usage``, no mapping),
then ``POST /v1/module-orgs/auto-map`` at the default threshold through the gateway (which
gives up on a request after 30 s): first as a dry run, whose proposals are scored against the
generator's truth, then for real. Orgs of nobody (tests, the MSP's own, former customers,
truth None) count as false positives when mapped.

precision = correct mappings / mappings made; recall = correct mappings / orgs of a customer.

Timed (wall clock at the client): the dry run, the auto-map request, until the usage of every
mapped org is re-resolved (no org waits in ``mapping.pending_resolutions``), and until
invoicing's unit table holds the latest resolution of every usage record.

    .venv/bin/python -m bench.automap [--seed 7] [--companies 200 1000] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.stack import running_stack
from launcher.embedded import EmbeddedSystem
from services.gateway.keys import create_tenant
from services.mapping.resolution.reresolution import waiting
from tools.sample import SampleMsp, generate
from tools.sample.load import LoadReport, load_setup, load_usage

TIMEOUT_SECONDS = 1800.0
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.90


def last_full_month() -> str:
    last_day = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    return last_day.strftime("%Y-%m")


def score(
    msp: SampleMsp, company_ids: dict[str, str], mappings: list[dict[str, Any]]
) -> dict[str, Any]:
    """Precision and recall of ``mappings`` (auto-map answers) against the sample's truth."""
    truth = {
        (o.module, o.org_id): company_ids.get(o.company_key) if o.company_key else None
        for o in msp.orgs
    }
    labelled = sum(1 for company in truth.values() if company is not None)
    correct = sum(1 for m in mappings if truth.get((m["module"], m["org_id"])) == m["company_id"])
    noise = sum(1 for m in mappings if truth.get((m["module"], m["org_id"])) is None)
    return {
        "orgs": len(truth),
        "labelled": labelled,
        "mapped": len(mappings),
        "correct": correct,
        "wrong_company": len(mappings) - correct - noise,
        "noise_mapped": noise,
        "precision": correct / len(mappings) if mappings else 1.0,
        "recall": correct / labelled if labelled else 1.0,
    }


# Every stage of the real stack has caught up: mapping holds every record ingest stored,
# nothing waits in an outbox or for re-resolution, and the unit table holds the latest
# resolution (version) of every record mapping keeps.
_STACK_SETTLED = text(
    """
    SELECT (SELECT count(*) FROM ingest.usage_records) = (SELECT count(*) FROM mapping.usage)
       AND NOT EXISTS (SELECT 1 FROM ingest.outbox)
       AND NOT EXISTS (SELECT 1 FROM mapping.outbox)
       AND NOT EXISTS (SELECT 1 FROM mapping.pending_resolutions)
       AND NOT EXISTS (
           SELECT 1 FROM mapping.usage u
           WHERE NOT EXISTS (
               SELECT 1 FROM invoicing.units x
               WHERE x.tenant_id = u.tenant_id AND x.module = u.module AND x.org_id = u.org_id
                 AND x.metric = u.metric AND x.day = u.day AND x.version = u.version))
    """
)
_STACK_WAITING = text("SELECT count(*) FROM mapping.pending_resolutions")


@dataclass
class Target:
    """A running system behind the public API, and how to tell that it caught up."""

    client: httpx.AsyncClient
    settled: Callable[[], Awaitable[bool]]
    """Whether every stage of the pipeline caught up."""
    waiting: Callable[[], Awaitable[int]]
    """How many orgs wait for the re-resolution of their usage."""


async def _until(check: Callable[[], Awaitable[bool]], poll: float) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not settle")
        await asyncio.sleep(poll)
    return time.perf_counter() - started


def _client(
    base_url: str, key: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        headers={"Authorization": f"Bearer {key}"},
        timeout=TIMEOUT_SECONDS,
    )


@contextlib.asynccontextmanager
async def _stack() -> AsyncIterator[Target]:
    async with running_stack() as stack:
        engine = create_async_engine(stack.database_url)

        async def scalar(query: Any) -> Any:
            async with engine.connect() as conn:
                return (await conn.execute(query)).scalar_one()

        async def settled() -> bool:
            return bool(await scalar(_STACK_SETTLED))

        async def orgs_waiting() -> int:
            return int(await scalar(_STACK_WAITING))

        try:
            async with _client(stack.gateway_url, stack.admin_key) as client:
                yield Target(client, settled, orgs_waiting)
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def _embedded() -> AsyncIterator[Target]:
    with tempfile.TemporaryDirectory(prefix="icb-automap-") as data_dir:
        system = EmbeddedSystem(Path(data_dir), environment="test")
        await system.start()
        mapping = system.mapping

        async def orgs_waiting() -> int:
            async with mapping.sessions() as session:
                return await waiting(session)

        async def settled() -> bool:
            return await orgs_waiting() == 0 and await system.idle()

        try:
            async with system.gateway.sessions() as session, session.begin():
                issued = await create_tenant(session, "Auto-map bench", "UTC")
            transport = httpx.ASGITransport(app=system.app)
            async with _client("http://icb.bench", issued.key, transport) as client:
                yield Target(client, settled, orgs_waiting)
        finally:
            await system.stop()


def _check(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.url.path}: {response.status_code} {response.text[:500]}"
        )
    return response.json()


async def measure(
    seed: int, companies: int, period: str | None = None, *, embedded: bool = False
) -> dict[str, Any]:
    msp = generate(seed, companies, period or last_full_month())
    async with _embedded() if embedded else _stack() as target:
        client, poll = target.client, 0.05 if embedded else 0.5
        loaded = LoadReport()
        started = time.perf_counter()
        await load_setup(client, msp, loaded)
        await load_usage(client, msp, loaded)
        await _until(target.settled, poll)
        load_s = time.perf_counter() - started

        started = time.perf_counter()
        dry = _check(await client.post("/v1/module-orgs/auto-map", json={"dry_run": True}))
        dry_s = time.perf_counter() - started
        started = time.perf_counter()
        done = _check(await client.post("/v1/module-orgs/auto-map", json={}))
        map_s = time.perf_counter() - started
        started = time.perf_counter()
        await _until(lambda: _none(target.waiting), poll / 10)
        reresolved_s = map_s + time.perf_counter() - started
        await _until(target.settled, poll)
        units_s = map_s + time.perf_counter() - started
    key = ("module", "org_id", "company_id")
    same = sorted(tuple(m[k] for k in key) for m in dry["mappings"]) == sorted(
        tuple(m[k] for k in key) for m in done["mappings"]
    )
    result = {
        "seed": seed,
        "companies": companies,
        "period": msp.period,
        "database": "sqlite" if embedded else "postgresql",
        "min_score": dry["min_score"],
        "margin": dry["margin"],
        **score(msp, loaded.company_ids, dry["mappings"]),
        "dry_run_equals_run": same,
        "records": loaded.records,
        "reresolved": sum(m["reresolved"] for m in done["mappings"]),
        "queued": done.get("queued", False),
        "seconds": {
            "load": round(load_s, 1),
            "dry_run": round(dry_s, 2),
            "auto_map": round(map_s, 2),
            "reresolved": round(reresolved_s, 2),
            "units_follow": round(units_s, 2),
        },
    }
    print(timing(result), flush=True)
    return result


async def _none(count: Callable[[], Awaitable[int]]) -> bool:
    return await count() == 0


def timing(r: dict[str, Any]) -> str:
    """The wall times of one measurement, as ``make bench`` prints them."""
    s = r["seconds"]
    how = "queued for the background" if r["queued"] else "in the request"
    return (
        f"auto-map on {r['companies']} generated companies ({r['orgs']} module orgs, "
        f"{r['records']:,} usage records, {r['database']}): request {s['auto_map']} s "
        f"({r['mapped']} mappings, {r['reresolved']:,} records re-resolved {how}; "
        f"dry run {s['dry_run']} s); all re-resolved after {s['reresolved']} s, "
        f"unit table caught up after {s['units_follow']} s"
    )


def report(seed: int, companies: int, embedded: bool = False) -> dict[str, Any]:
    """Auto-map precision, recall and time at the default threshold on a generated tenant."""
    return asyncio.run(measure(seed, companies, embedded=embedded))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.automap")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--companies", type=int, nargs="+", default=[200, 1000])
    parser.add_argument(
        "--embedded", action="store_true", help="SQLite and the in-process bus, no infrastructure"
    )
    args = parser.parse_args()
    for companies in args.companies:
        r = report(args.seed, companies, args.embedded)
        met = r["precision"] >= TARGET_PRECISION and r["recall"] >= TARGET_RECALL
        print(
            f"{companies} companies (seed {r['seed']}, {r['orgs']} orgs, {r['labelled']} of a "
            f"customer): precision {r['precision']:.4f}, recall {r['recall']:.4f} at "
            f"min_score {r['min_score']} / margin {r['margin']} "
            f"({r['mapped']} mapped: {r['wrong_company']} to a wrong company, "
            f"{r['noise_mapped']} of nobody) {'target met' if met else 'TARGET MISSED'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
