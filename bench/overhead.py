"""The cost of metrics and tracing on the end-to-end throughput.

Tracing: the same load through a stack that records and exports every span (OTLP to a sink
that accepts and drops them) and through one that exports none, alternated over several rounds
(A B, B A, ...) so that a machine's drift falls on both sides. Two figures: the ratio of the
median throughputs, and the ratio of the median CPU seconds the four services spent on the
records (read from /proc), which other work on a shared machine disturbs far less.

Metrics are recorded per HTTP request, per consumed batch and per relayed batch, never per
record, and they cannot be switched off in a running service. Their cost is therefore bounded
from above: every recording the services report on ``/metrics`` after a run is priced at the
measured cost of one labelled recording, as if all of them ran one after another on one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import timeit
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from bench.e2e import Throughput, end_to_end
from bench.stack import PORTS, cpu_seconds_by_service, running_stack
from tools.sample import SampleMsp

SERVICE_PORTS = ("ICB_GATEWAY_PORT", "ICB_INGEST_PORT", "ICB_MAPPING_PORT", "ICB_INVOICING_PORT")
HTTP_RECORDINGS = 2
"""a request is counted and its duration observed"""
BATCH_RECORDINGS = 2
"""a consumed batch is counted and its partition's lag set; a relayed batch counted"""


@dataclass(frozen=True)
class Overhead:
    plain: list[float]
    """records/s of each run without span export"""
    traced: list[float]
    """records/s of each run exporting every span"""
    plain_cpu: list[float]
    """the services' CPU seconds of each run without span export"""
    traced_cpu: list[float]
    """the services' CPU seconds of each run exporting every span"""
    metric_recordings: int
    """recordings the services reported after one run (an upper bound, see the module)"""
    recording_seconds: float
    """measured cost of one labelled recording"""
    run_seconds: float
    """wall time of the run the recordings were counted in"""

    @property
    def tracing_percent(self) -> float:
        return (1 - statistics.median(self.traced) / statistics.median(self.plain)) * 100

    @property
    def tracing_cpu_percent(self) -> float:
        return (statistics.median(self.traced_cpu) / statistics.median(self.plain_cpu) - 1) * 100

    @property
    def metrics_percent(self) -> float:
        return self.metric_recordings * self.recording_seconds / self.run_seconds * 100


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts OTLP/HTTP exports (keep-alive) and drops them."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def span_sink() -> AsyncIterator[str]:
    server = await asyncio.start_server(_sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def recordings(exposition: str) -> int:
    """How many recordings one service's ``/metrics`` text stands for, at most: counters of
    batches count each batch once per record in it, so they overstate."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        if not family.name.startswith("icb_"):
            continue
        for sample in family.samples:
            if family.name == "icb_http_requests" and sample.name.endswith("_total"):
                total += sample.value * HTTP_RECORDINGS
            elif family.type == "counter" and sample.name.endswith("_total"):
                total += sample.value * BATCH_RECORDINGS
            elif family.type == "histogram" and sample.name.endswith("_count"):
                if family.name != "icb_http_request_duration_seconds":
                    total += sample.value
    return int(total)


async def _scraped_recordings() -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        texts = [
            (await client.get(f"http://127.0.0.1:{PORTS[port]}/metrics")).text
            for port in SERVICE_PORTS
        ]
    return sum(recordings(t) for t in texts)


def recording_cost(rounds: int = 200_000) -> float:
    """Seconds for one labelled counter increment and one histogram observation, halved: the
    price of one recording as the services make them."""
    registry = CollectorRegistry()
    counter = Counter("c", "c", ["service", "topic"], registry=registry)
    histogram = Histogram("h", "h", ["service", "route"], registry=registry)

    def both() -> None:
        counter.labels("ingest", "usage.received").inc(1000)
        histogram.labels("ingest", "/v1/usage").observe(0.02)

    return min(timeit.repeat(both, number=rounds, repeat=3)) / rounds / 2


def services_cpu_seconds() -> float:
    """User and system CPU seconds of the bench stack's service processes so far."""
    return sum(cpu_seconds_by_service().values())


async def _run(msp: SampleMsp, n: int, traced: bool) -> tuple[Throughput, int]:
    async with contextlib.AsyncExitStack() as stack:
        env = {}
        if traced:
            env["ICB_OTLP_ENDPOINT"] = await stack.enter_async_context(span_sink())
        running = await stack.enter_async_context(running_stack(env))
        throughput = await end_to_end(running, msp, n, services_cpu_seconds)
        return throughput, await _scraped_recordings()


async def observability_overhead(msp: SampleMsp, n: int, rounds: int = 3) -> Overhead:
    plain: list[Throughput] = []
    traced: list[Throughput] = []
    counted = 0
    for i in range(rounds):
        for with_spans in (False, True) if i % 2 == 0 else (True, False):
            throughput, counted_here = await _run(msp, n, with_spans)
            (traced if with_spans else plain).append(throughput)
            if with_spans:
                counted = counted_here
    return Overhead(
        plain=[t.per_second for t in plain],
        traced=[t.per_second for t in traced],
        plain_cpu=[t.cpu_seconds for t in plain],
        traced_cpu=[t.cpu_seconds for t in traced],
        metric_recordings=counted,
        recording_seconds=recording_cost(),
        run_seconds=traced[-1].seconds,
    )


def describe(o: Overhead) -> str:
    runs = ", ".join(f"{a:,.0f} / {b:,.0f}" for a, b in zip(o.plain, o.traced, strict=True))
    cpu = ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(o.plain_cpu, o.traced_cpu, strict=True))
    return (
        f"tracing overhead (every span exported vs none, metrics on in both), "
        f"{len(o.plain)} alternating pairs: throughput {o.tracing_percent:.1f} % lower "
        f"(records/s without / with spans: {runs}); services' CPU {o.tracing_cpu_percent:.1f} % "
        f"higher (CPU s without / with: {cpu})\n"
        f"metrics overhead, upper bound: {o.metric_recordings:,} recordings x "
        f"{o.recording_seconds * 1e6:.2f} us = {o.metric_recordings * o.recording_seconds:.3f} s "
        f"of a {o.run_seconds:.1f} s run ({o.metrics_percent:.2f} %)"
    )
