"""``make bench``: figures on the real stack (Kafka and PostgreSQL must be running)."""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.e2e import end_to_end, raw_kafka, sample_for
from bench.stack import running_stack
from shared.sample import as_usage_json
from shared.settings import Settings


async def main(n: int) -> None:
    settings = Settings()
    msp = sample_for(n)
    payloads = [
        json.dumps(as_usage_json(r)).encode() for _, r in zip(range(n), msp.records(), strict=False)
    ]
    print(f"records: {len(payloads)} ({len(msp.companies)} companies, {msp.period})", flush=True)
    raw = await raw_kafka(settings.kafka_bootstrap_servers, payloads)
    print(
        f"raw aiokafka produce+consume: {raw.per_second:,.0f} records/s ({raw.seconds:.2f} s)",
        flush=True,
    )
    async with running_stack() as stack:
        e2e = await end_to_end(stack, msp, len(payloads))
    print(
        f"end to end (gateway -> unit table): {e2e.per_second:,.0f} records/s "
        f"({e2e.seconds:.2f} s); ingest requests of 10,000 records: "
        f"p50 {e2e.p50_ms:.0f} ms, p99 {e2e.p99_ms:.0f} ms"
    )
    print(f"ratio end to end / raw Kafka: {e2e.per_second / raw.per_second:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--records", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().records))
