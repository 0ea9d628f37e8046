"""Server time of the console's busiest pages for a large tenant: 10,000 companies, 50,000
module orgs (five per company by default; all unmapped, so the queue is long) and 10,000
invoices, on the embedded system.

The tenant is loaded through the public API: companies from one CSV import, orgs from usage
of one day (50,000 records, discovered by mapping), a contract per company and a billing
run (an invoice per company, even at zero). Each page is then requested ``rounds`` times by a
signed-in browser-like client in process; the time is the gateway's whole answer, the
console's own API calls included.

    .venv/bin/python -m bench.console [--companies 10000] [--orgs 50000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from launcher.embedded import EmbeddedSystem
from launcher.periods import last_month
from services.gateway.keys import create_tenant
from shared.catalog import CATALOG

PAGES = (
    "/console/",
    "/console/mapping",
    "/console/mapping?q=7",
    "/console/mapping/grid",
    "/console/invoices",
    "/console/invoices?status=draft",
    "/console/contracts",
    "/console/receivables",
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
USAGE_BATCH = 10_000


async def _ok(answer: httpx.Response, *statuses: int) -> Any:
    if answer.status_code not in (statuses or (200,)):
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return answer.json() if answer.content else None


async def _load(api: httpx.AsyncClient, system: EmbeddedSystem, companies: int, orgs: int) -> str:
    period = last_month()
    first = dt.date.fromisoformat(period + "-01")
    rows = "\n".join(f"Company {i:05d},C{i:05d},0.19,EUR" for i in range(companies))
    await _ok(
        await api.post(
            "/v1/companies/import",
            content=f"name,external_ref,tax_rate,currency\n{rows}\n",
            headers={"Content-Type": "text/csv"},
        )
    )
    modules = [(m.id, m.metrics[0].id) for m in CATALOG.modules]
    records = [
        {
            "module": modules[i % len(modules)][0],
            "org_id": f"org-{i}",
            "org_name": f"company {i % companies:05d} org {i}",
            "metric": modules[i % len(modules)][1],
            "date": first.isoformat(),
            "quantity": str(1 + i % 9),
        }
        for i in range(orgs)
    ]
    for start in range(0, len(records), USAGE_BATCH):
        await _ok(
            await api.post("/v1/usage", json={"records": records[start : start + USAGE_BATCH]})
        )
    ids: list[str] = []
    cursor = None
    while True:
        page = await _ok(await api.get("/v1/companies", params={"limit": 1000, "cursor": cursor}))
        ids.extend(c["id"] for c in page["items"])
        if not (cursor := page["next_cursor"]):
            break
    for company_id in ids:  # one at a time: SQLite has one writer
        body = {
            "company_id": company_id,
            "name": "Managed services",
            "start_date": first.isoformat(),
            "currency": "EUR",
            "services": [{"service_code": "RMM-DEVICE", "name": "Device", "unit_price": "2.50"}],
        }
        await _ok(await api.post("/v1/contracts", json=body), 201)
    await system.settle(3600)
    await _ok(await api.post("/v1/billing-runs", json={"period": period}), 200, 201, 202)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        runs = await _ok(await api.get("/v1/billing-runs", params={"limit": 1}))
        if runs["items"] and runs["items"][0]["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(1)
    return period


async def measure(
    companies: int = 10_000, orgs: int | None = None, rounds: int = 5, *, progress: bool = False
) -> dict[str, Any]:
    orgs = orgs or 5 * companies
    with tempfile.TemporaryDirectory() as data_dir:
        system = EmbeddedSystem(Path(data_dir), environment="test", rate_limit_burst=1_000_000)
        await system.start()
        try:
            async with system.gateway.sessions() as session, session.begin():
                key = (await create_tenant(session, "Bench MSP", "UTC")).key
            transport = httpx.ASGITransport(app=system.app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
                timeout=3600,
            ) as api:
                started = time.perf_counter()
                await _load(api, system, companies, orgs)
                loaded_s = time.perf_counter() - started
                invoices = len(
                    (await _ok(await api.get("/v1/invoices", params={"limit": 1000})))["items"]
                )
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=600
            ) as browser:
                form = await browser.get("/console/sign-in")
                token = CSRF.search(form.text)
                assert token is not None
                await browser.post(
                    "/console/sign-in", data={"csrf_token": token.group(1), "api_key": key}
                )
                timings: dict[str, dict[str, float]] = {}
                for path in PAGES:
                    seconds = []
                    for _ in range(rounds):
                        begun = time.perf_counter()
                        answer = await browser.get(path)
                        seconds.append(time.perf_counter() - begun)
                        if answer.status_code != 200:
                            raise RuntimeError(f"{path}: {answer.status_code}")
                    timings[path] = {
                        "p50_ms": round(statistics.median(seconds) * 1000, 1),
                        "max_ms": round(max(seconds) * 1000, 1),
                    }
                    if progress:
                        print(f"  {path}: {timings[path]}", flush=True)
        finally:
            await system.stop()
    return {
        "companies": companies,
        "orgs": orgs,
        "invoices_first_page": invoices,
        "load_s": round(loaded_s, 1),
        "pages": timings,
    }


def describe(r: dict[str, Any]) -> str:
    pages = "; ".join(
        f"{p} p50 {t['p50_ms']} ms (max {t['max_ms']})" for p, t in r["pages"].items()
    )
    return (
        f"console pages, embedded, {r['companies']} companies, {r['orgs']} module orgs "
        f"(loaded in {r['load_s']} s): {pages}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.console")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=None, help="default: 5 per company")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(describe(asyncio.run(measure(args.companies, args.orgs, args.rounds, progress=True))))
