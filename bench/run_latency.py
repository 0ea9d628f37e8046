"""The latency of ``POST /v1/billing-runs`` for the demo's tenant (40 companies, 25 modules,
last month), on the embedded system: what a billing admin waits for after pressing the button.

The tenant is loaded and mapped as ``make demo`` does; then the run is requested ``runs``
times in a row through the public API. The first run creates the drafts; the others find
nothing changed (the usual case when a run is repeated). Timed at the client.

    .venv/bin/python -m bench.run_latency [--runs 11] [--companies 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from launcher.embedded import EmbeddedSystem
from launcher.periods import last_month
from services.gateway.keys import create_tenant
from tools.sample import generate
from tools.sample.load import LoadReport, load_setup, load_usage, map_orgs_by_truth


async def measure(runs: int = 11, companies: int = 40, seed: int = 7) -> dict[str, Any]:
    period = last_month()
    with tempfile.TemporaryDirectory() as data_dir:
        system = EmbeddedSystem(Path(data_dir), environment="test")
        await system.start()
        try:
            async with system.gateway.sessions() as session, session.begin():
                key = (await create_tenant(session, "Bench MSP", "UTC")).key
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=system.app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
                timeout=600,
            ) as client:
                msp = generate(seed=seed, companies=companies, period=period)
                report = LoadReport()
                await load_setup(client, msp, report)
                await load_usage(client, msp, report)
                await map_orgs_by_truth(client, msp, report)
                await system.settle()
                seconds: list[float] = []
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = await client.post("/v1/billing-runs", json={"period": period})
                    seconds.append(time.perf_counter() - started)
                    if answer.status_code != 201:
                        raise RuntimeError(f"billing run answered {answer.status_code}")
                    invoices = answer.json()["invoices"]
        finally:
            await system.stop()
    again = seconds[1:]
    return {
        "companies": companies,
        "records": report.records,
        "invoices": invoices,
        "first_ms": round(seconds[0] * 1000),
        "rerun_p50_ms": round(statistics.median(again) * 1000),
        "rerun_min_ms": round(min(again) * 1000),
        "rerun_max_ms": round(max(again) * 1000),
        "reruns": len(again),
    }


def describe(r: dict[str, Any]) -> str:
    return (
        f"billing run of the demo tenant ({r['companies']} companies, {r['records']} records, "
        f"{r['invoices']} invoices), embedded: first {r['first_ms']} ms; unchanged re-run p50 "
        f"{r['rerun_p50_ms']} ms (min {r['rerun_min_ms']}, max {r['rerun_max_ms']}, "
        f"n={r['reruns']})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.run_latency")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--companies", type=int, default=40)
    args = parser.parse_args()
    print(describe(asyncio.run(measure(args.runs, args.companies))))
