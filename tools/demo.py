"""``make demo``: the embedded system, a generated sample MSP, a billing run, a summary."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import time
from collections import defaultdict
from decimal import Decimal

import httpx
import uvicorn

from launcher.embedded import EmbeddedSystem
from launcher.tenants import create_tenant_with_key
from shared.logging import configure_logging
from shared.settings import ServiceSettings
from tools.sample import generate
from tools.sample.load import LoadReport, load_setup, load_usage, map_orgs_by_truth


def _last_month() -> str:
    first = dt.date.today().replace(day=1)
    previous = first - dt.timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def _summary(
    invoices: list[dict[str, object]],
    names: dict[str, str],
    report: LoadReport,
    unmapped: int,
    seconds: float,
) -> str:
    lines = [
        "",
        f"Loaded {len(report.company_ids)} companies, {report.contracts} contracts, "
        f"{report.records} usage records, {report.mapped_orgs} org mappings "
        f"in {seconds:.1f} s; {unmapped} module orgs left unmapped (see /v1/module-orgs).",
        "",
        f"{'company':<44} {'cur':<4} {'lines':>5} {'subtotal':>12} {'tax':>10} {'total':>12}",
        "-" * 92,
    ]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for inv in sorted(invoices, key=lambda i: names.get(str(i["company_id"]), "")):
        cur = str(inv["currency"])
        lines.append(
            f"{names.get(str(inv['company_id']), '?')[:44]:<44} {cur:<4} "
            f"{len(inv['lines']):>5} {inv['subtotal']:>12} {inv['tax']:>10} {inv['total']:>12}"  # type: ignore[arg-type]
        )
        totals[cur] += Decimal(str(inv["total"]))
    lines.append("-" * 92)
    for cur, total in sorted(totals.items()):
        lines.append(f"{'total ' + cur:<44} {cur:<4} {'':>5} {'':>12} {'':>10} {total:>12}")
    return "\n".join(lines)


async def _demo(args: argparse.Namespace, key: str) -> None:
    period = args.period or _last_month()
    # Last month is billed; this month's usage keeps arriving, as on a real tenant (so no
    # module looks stale).
    until = None if args.period else dt.date.today() - dt.timedelta(days=1)
    system = EmbeddedSystem(args.data_dir)
    server = uvicorn.Server(
        uvicorn.Config(
            system.app, host=args.host, port=args.port, log_level="warning", access_log=False
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            raise RuntimeError("the API did not start")
        await asyncio.sleep(0.05)
    base = f"http://{args.host}:{args.port}"
    msp = generate(seed=args.seed, companies=args.companies, period=period)
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        report = LoadReport()
        print(
            f"Sample MSP {msp.msp_name!r}: {len(msp.companies)} companies, "
            f"{len(msp.orgs)} module orgs, 25 modules, period {period}"
            + (f", usage through {until}" if until else ""),
            flush=True,
        )
        await load_setup(client, msp, report)
        await load_usage(client, msp, report, until=until)
        await map_orgs_by_truth(client, msp, report)
        await system.settle()
        run = (await client.post("/v1/billing-runs", json={"period": period})).json()
        invoices = []
        cursor = None
        while True:
            params = {"period": period, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/invoices", params=params)).json()
            for item in page["items"]:
                invoices.append((await client.get(f"/v1/invoices/{item['id']}")).json())
            cursor = page["next_cursor"]
            if not cursor:
                break
        unmapped = len(
            (
                await client.get("/v1/module-orgs", params={"status": "unmapped", "limit": 1000})
            ).json()["items"]
        )
    names = {report.company_ids[c.key]: c.name for c in msp.companies}
    print(_summary(invoices, names, report, unmapped, time.monotonic() - started))
    print(f"\nBilling run {run['id']}: {run['invoices']} draft invoices for {period}.")
    print(f"\nThe API runs at {base}  (OpenAPI: {base}/docs)")
    print(f"Admin API key: {key}")
    print(f'Try: curl -H "Authorization: Bearer {key}" {base}/v1/invoices?period={period}')
    if args.exit:
        server.should_exit = True
    else:
        print("Ctrl-C stops it.", flush=True)
    await serving


def run_demo(settings: ServiceSettings, args: argparse.Namespace) -> int:
    configure_logging("WARNING", "demo")
    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    key = asyncio.run(create_tenant_with_key(settings, "Demo MSP", "UTC", args.data_dir))
    try:
        asyncio.run(_demo(args, key))
    except KeyboardInterrupt:
        pass
    return 0
