"""``make bench``: throughput and scale figures on the real stack (Kafka and PostgreSQL must
be running; the Makefile starts them)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

from bench.assurance import assurance_bench
from bench.automap import measure as automap
from bench.billing import billing_run_bench
from bench.console import describe as describe_console
from bench.console import measure as console_pages
from bench.e2e import end_to_end, raw_kafka, sample_for
from bench.ingest import ingest_only
from bench.load import BATCH
from bench.overhead import describe as describe_overhead
from bench.overhead import observability_overhead
from bench.run_latency import describe as describe_run_latency
from bench.run_latency import measure as run_latency
from bench.stack import Stack, cpu_seconds_by_service, peak_rss_mb, running_stack
from bench.webhooks import describe as describe_webhooks
from bench.webhooks import measure as webhooks
from shared.settings import ServiceSettings
from tools.sample import SampleMsp, as_usage_json


async def pipeline(
    stack: Stack, msp: SampleMsp, n: int, replicas: str, raw_per_second: float
) -> None:
    """One end-to-end run, printed with the CPU each process spent on the records and the
    peak resident set of each."""
    snapshots: list[dict[str, float]] = []

    def cpu() -> float:
        snapshots.append(cpu_seconds_by_service())
        return sum(snapshots[-1].values())

    e2e = await end_to_end(stack, msp, n, cpu)
    first, last = snapshots[0], snapshots[-1]
    per_record = {
        name: f"{(last[name] - first.get(name, 0.0)) / n * 1e6:.0f} µs" for name in sorted(last)
    }
    print(
        f"end to end, {replicas} (gateway -> ingest -> Kafka -> mapping -> Kafka -> invoicing "
        f"-> unit table): {e2e.per_second:,.0f} records/s ({e2e.seconds:.2f} s), "
        f"{e2e.per_second / raw_per_second:.2f} x raw Kafka; ingest requests of {BATCH:,} "
        f"records under that load: p50 {e2e.p50_ms:.0f} ms, p99 {e2e.p99_ms:.0f} ms",
        flush=True,
    )
    print(f"  CPU per record by process: {per_record}", flush=True)
    print(f"  peak resident MB by process: {peak_rss_mb()}", flush=True)


async def main(args: argparse.Namespace) -> None:
    settings = ServiceSettings()
    n = args.records
    msp = sample_for(n)
    payloads = [
        json.dumps(as_usage_json(r)).encode() for _, r in zip(range(n), msp.records(), strict=False)
    ]
    print(f"records: {len(payloads)} ({len(msp.companies)} companies, {msp.period})", flush=True)
    raw = await raw_kafka(settings.kafka_bootstrap_servers, payloads)
    print(f"raw aiokafka produce+consume: {raw.per_second:,.0f} records/s ({raw.seconds:.2f} s)")
    async with running_stack() as stack:
        await pipeline(stack, msp, len(payloads), "one replica each", raw.per_second)
        ingest = await ingest_only(
            args.ingest_records,
            gateway_url=stack.gateway_url,
            api_key=stack.admin_key,
            database_url=stack.database_url,
        )
        print(
            f"ingest only (request to Kafka ack): {ingest['records_per_second']:,.0f} records/s "
            f"({ingest['records']} records in {ingest['seconds']} s)",
            flush=True,
        )
    async with running_stack({"ICB_REPLICAS": "mapping=2 invoicing=2"}) as stack:
        await pipeline(
            stack, msp, len(payloads), "two replicas of mapping and invoicing", raw.per_second
        )
    print(describe_overhead(await observability_overhead(msp, len(payloads))), flush=True)
    billing = await billing_run_bench(args.billing_companies)
    run = billing["run"]
    print(
        f"billing run, {args.billing_companies} companies x a month on 25 modules: "
        f"{json.dumps(run)}; unchanged re-run: {json.dumps(billing['rerun'])}",
        flush=True,
    )
    assurance = await assurance_bench(args.billing_companies)
    print(
        f"reconciliation and margin report, {args.billing_companies} companies x a month on 25 "
        f"modules ({assurance['unit_rows']:,} unit rows): reconciliation "
        f"{assurance['reconciliation_seconds']} s, margin {assurance['margin_seconds']} s "
        "(cold, warm)",
        flush=True,
    )
    print(describe_run_latency(await run_latency()), flush=True)
    print(describe_webhooks(await webhooks(args.webhook_burst)), flush=True)
    print(describe_console(await console_pages(args.console_companies)), flush=True)
    for companies in args.automap_companies:
        r = await automap(7, companies)
        print(
            f"auto-map on {companies} generated companies ({r['orgs']} module orgs): precision "
            f"{r['precision']:.4f}, recall {r['recall']:.4f} at min_score {r['min_score']}",
            flush=True,
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--ingest-records", type=int, default=100_000)
    parser.add_argument("--billing-companies", type=int, default=10_000)
    parser.add_argument("--webhook-burst", type=int, default=300)
    parser.add_argument("--console-companies", type=int, default=10_000)
    parser.add_argument("--automap-companies", type=int, nargs="*", default=[200, 1000])
    asyncio.run(main(parser.parse_args()))
