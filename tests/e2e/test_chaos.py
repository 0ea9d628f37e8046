"""The chaos run's short form (100,000 records; ``make chaos`` runs 1,000,000): the real
stack on a PostgreSQL and Kafka of its own, every service killed, the broker and the
database restarted, the gateway restarted mid-request and a consumer paused past its session,
while usage flows, a re-resolution runs, a billing run bills and drafts are posted. The
tenant under fire must end equal to the fault-free reference tenant, row for row and cent
for cent, and none of the secrets it was given may appear in what the stack wrote."""

from __future__ import annotations

import time

import pytest

from bench.chaos.infra import REPO, Infra
from bench.chaos.run import chaos_run

pytestmark = pytest.mark.e2e

RECORDS = 100_000
SEED = 18
POSTS = 250
"""drafts posted (of the 1,000): enough for kills during posting, few enough to be quick"""
INFRA = Infra(REPO / ".run" / "chaos-test", pg_port=5534, kafka_port=9194, controller_port=9195)
"""ports and a run directory of its own: the shared PostgreSQL and Kafka are never restarted"""


async def test_nothing_is_lost_doubled_or_leaked_under_faults(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    began = time.monotonic()
    try:
        report = await chaos_run(RECORDS, SEED, 1, tmp_path_factory.mktemp("chaos"), INFRA, POSTS)
    finally:
        await INFRA.down()
    print("\n".join([*report.lines(), f"wall time {time.monotonic() - began:.0f}s"]))
    assert len(report.injected) == len(report.schedule)
    assert {(i.fault.kind, i.fault.target) for i in report.injected} >= {
        ("kill", "ingest"),
        ("kill", "mapping"),
        ("kill", "invoicing"),
        ("kill", "gateway"),
        ("restart", "gateway"),
        ("kafka", ""),
        ("postgres", ""),
        ("pause", "mapping"),
    }
    assert report.retries.connection_errors + report.retries.unavailable > 0, "no fault hit"
    assert report.retries.server_errors == []
    findings = report.findings
    assert findings.units >= RECORDS
    assert (findings.lost, findings.doubled, findings.invoice_differences) == (0, 0, 0), (
        findings.examples
    )
    assert findings.posted > 0 and findings.number_problems == []
    assert findings.twice == [] and findings.dead_letters == 0
    assert report.leaks == []
