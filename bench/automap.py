"""Auto-mapping quality on the sample MSP's labelled module orgs, through the public API.

An embedded system (SQLite, in-process bus) gets the sample's companies, billing setup and a
month of usage (``load_setup`` + ``load_usage``, no mapping), then ``POST /v1/module-orgs/
auto-map`` at the default threshold: first as a dry run, whose proposals are scored against the
generator's truth, then for real. Orgs of nobody (tests, the MSP's own, former customers,
truth None) count as false positives when mapped.

precision = correct mappings / mappings made; recall = correct mappings / orgs of a customer.

    .venv/bin/python -m bench.automap [--seed 7] [--companies 200 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.embedded import EmbeddedSystem
from services.gateway.keys import create_tenant
from shared.sample import SampleMsp, generate
from shared.sample.load import LoadReport, load_setup, load_usage
from shared.settings import Settings

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


async def _settle(system: EmbeddedSystem) -> None:
    """Until every outbox is empty and every consumer caught up."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if await system.idle():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the embedded pipeline did not settle")


def _check(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.url.path}: {response.status_code} {response.text[:500]}"
        )
    return response.json()


async def measure(seed: int, companies: int, period: str | None = None) -> dict[str, Any]:
    msp = generate(seed, companies, period or last_full_month())
    with tempfile.TemporaryDirectory(prefix="icb-automap-") as data_dir:
        system = EmbeddedSystem(Settings(environment="test"), Path(data_dir))
        await system.start()
        try:
            async with system.runtimes["gateway"].sessions() as session, session.begin():
                issued = await create_tenant(session, "Auto-map bench", "UTC")
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=system.app),
                base_url="http://icb.bench",
                headers={"Authorization": f"Bearer {issued.key}"},
                timeout=TIMEOUT_SECONDS,
            ) as client:
                loaded = LoadReport()
                started = time.perf_counter()
                await load_setup(client, msp, loaded)
                await load_usage(client, msp, loaded)
                await _settle(system)
                load_s = time.perf_counter() - started

                started = time.perf_counter()
                dry = _check(await client.post("/v1/module-orgs/auto-map", json={"dry_run": True}))
                dry_s = time.perf_counter() - started
                started = time.perf_counter()
                done = _check(await client.post("/v1/module-orgs/auto-map", json={}))
                map_s = time.perf_counter() - started
        finally:
            await system.stop()
    key = ("module", "org_id", "company_id")
    same = sorted(tuple(m[k] for k in key) for m in dry["mappings"]) == sorted(
        tuple(m[k] for k in key) for m in done["mappings"]
    )
    return {
        "seed": seed,
        "companies": companies,
        "period": msp.period,
        "min_score": dry["min_score"],
        "margin": dry["margin"],
        **score(msp, loaded.company_ids, dry["mappings"]),
        "dry_run_equals_run": same,
        "records": loaded.records,
        "seconds": {
            "load": round(load_s, 1),
            "dry_run": round(dry_s, 2),
            "auto_map": round(map_s, 2),
        },
    }


def report(seed: int, companies: int) -> dict[str, Any]:
    """Auto-map precision and recall at the default threshold on a generated tenant."""
    return asyncio.run(measure(seed, companies))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.automap")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--companies", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args()
    for companies in args.companies:
        r = report(args.seed, companies)
        met = r["precision"] >= TARGET_PRECISION and r["recall"] >= TARGET_RECALL
        print(
            f"{companies} companies (seed {r['seed']}, {r['orgs']} orgs, {r['labelled']} of a "
            f"customer): precision {r['precision']:.4f}, recall {r['recall']:.4f} at "
            f"min_score {r['min_score']} / margin {r['margin']} "
            f"({r['mapped']} mapped: {r['wrong_company']} to a wrong company, "
            f"{r['noise_mapped']} of nobody) {'target met' if met else 'TARGET MISSED'}; "
            f"seconds {r['seconds']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
