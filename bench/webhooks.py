"""Webhook deliveries to a local receiver, on the embedded system: how many per second to one
endpoint, and the delay from a post's answer to its ``invoice.posted`` arriving (p50, p99).

Drafts are made (a contract each, no usage). Throughput: ``burst`` drafts are posted while
the receiver holds its answers, so their deliveries queue up; then it answers at once, and
the deliveries per second from then on are timed (one endpoint: at most
``ICB_WEBHOOK_ENDPOINT_CONCURRENCY`` requests in flight). Delay: ``single`` more drafts are
posted one at a time on the quiet system, each timed until its event arrives.

    .venv/bin/python -m bench.webhooks [--burst 300] [--single 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from launcher.embedded import EmbeddedSystem
from launcher.periods import last_month
from services.gateway.keys import create_tenant


class Receiver:
    """A minimal keep-alive HTTP server: answers every POST with 204 once ``open`` is set,
    and notes when each invoice's event was answered."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}
        self.open = asyncio.Event()
        self.changed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                await self.open.wait()
                self.answered.setdefault(body["data"]["invoice"]["id"], time.perf_counter())
                self.changed.set()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int, seconds: float = 600) -> None:
        async with asyncio.timeout(seconds):
            while len(self.answered) < count:
                self.changed.clear()
                await self.changed.wait()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _drafts(api: httpx.AsyncClient, system: EmbeddedSystem, count: int) -> list[str]:
    period = last_month()
    for i in range(count):
        company = (await api.post("/v1/companies", json={"name": f"C{i}"})).json()
        contract = {
            "company_id": company["id"],
            "name": "Managed",
            "start_date": "2020-01-01",
            "currency": "EUR",
            "services": [{"service_code": "S", "name": "S", "unit_price": "1"}],
        }
        assert (await api.post("/v1/contracts", json=contract)).status_code == 201
    await system.settle()
    run = await api.post("/v1/billing-runs", json={"period": period})
    assert run.status_code == 201, run.text
    page = await api.get("/v1/invoices", params={"period": period, "limit": 1000})
    return [d["id"] for d in page.json()["items"]]


async def measure(burst: int = 300, single: int = 50) -> dict[str, Any]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        system = EmbeddedSystem(
            Path(data_dir),
            environment="test",
            webhook_allow_private=True,
            webhook_timeout_seconds=60,
        )
        await system.start()
        try:
            async with system.gateway.sessions() as session, session.begin():
                key = (await create_tenant(session, "Bench MSP", "UTC")).key
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=system.app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
                timeout=600,
            ) as api:
                seller = {"name": "Bench MSP", "payment_terms_days": 14}
                assert (await api.put("/v1/seller-profile", json=seller)).status_code == 200
                hook = {"url": f"http://127.0.0.1:{port}/hook", "events": ["invoice.posted"]}
                assert (await api.post("/v1/webhooks", json=hook)).status_code == 201
                drafts = await _drafts(api, system, burst + single)
                for invoice_id in drafts[:burst]:
                    assert (await api.post(f"/v1/invoices/{invoice_id}/post")).status_code == 200
                await system.settle()
                released = time.perf_counter()
                receiver.open.set()
                await receiver.wait_for(burst)
                seconds = max(receiver.answered.values()) - released
                delays = []
                for n, invoice_id in enumerate(drafts[burst:], start=burst + 1):
                    assert (await api.post(f"/v1/invoices/{invoice_id}/post")).status_code == 200
                    posted = time.perf_counter()
                    await receiver.wait_for(n)
                    delays.append((receiver.answered[invoice_id] - posted) * 1000)
        finally:
            await system.stop()
            server.close()
    return {
        "burst": burst,
        "per_second": burst / seconds,
        "single": single,
        "delay_p50_ms": statistics.median(delays),
        "delay_p99_ms": _percentile(delays, 0.99),
    }


def describe(r: dict[str, Any]) -> str:
    return (
        f"webhooks to one local receiver, embedded: {r['burst']} queued deliveries at "
        f"{r['per_second']:,.0f}/s; posting to delivery (n={r['single']}) p50 "
        f"{r['delay_p50_ms']:.0f} ms, p99 {r['delay_p99_ms']:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.webhooks")
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--single", type=int, default=50)
    args = parser.parse_args()
    print(describe(asyncio.run(measure(args.burst, args.single))))
