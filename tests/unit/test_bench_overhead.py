"""The metrics-overhead bound counts what the services report, and only theirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bench import billing, overhead, stack
from bench.overhead import recording_cost, recordings


def test_recordings_count_requests_twice_and_batches_by_their_counters() -> None:
    registry = CollectorRegistry()
    requests = Counter("icb_http_requests", "r", ["route"], registry=registry)
    durations = Histogram("icb_http_request_duration_seconds", "d", ["route"], registry=registry)
    consumed = Counter("icb_events_consumed", "e", ["topic"], registry=registry)
    jobs = Histogram("icb_job_duration_seconds", "j", ["kind"], registry=registry)
    foreign = Counter("python_other", "o", registry=registry)
    for _ in range(3):
        requests.labels("/v1/usage").inc()
        durations.labels("/v1/usage").observe(0.01)
    consumed.labels("usage.received").inc(5)
    jobs.labels("billing_run").observe(1.0)
    foreign.inc(1000)
    text = generate_latest(registry).decode()
    assert recordings(text) == 3 * 2 + 5 * 2 + 1


def test_a_recording_costs_a_positive_time() -> None:
    assert 0 < recording_cost(rounds=1000) < 0.01


def test_the_services_cpu_and_memory_are_read_from_their_pid_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "me.pid").write_text(f"{os.getpid()}\n")
    monkeypatch.setattr(stack, "RUN_DIR", tmp_path)
    before = overhead.services_cpu_seconds()
    sum(i * i for i in range(2_000_000))
    assert overhead.services_cpu_seconds() > before > 0
    assert set(stack.cpu_seconds_by_service()) == {"me"}

    child = subprocess.Popen(  # a fresh process: this one's peak is whatever ran before
        [sys.executable, "-c", "held = b'x' * (256 << 20); print(flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        child.stdout.readline()  # its 256 MB are written, so resident
        (tmp_path / "services" / "child.pid").write_text(f"{child.pid}\n")
        assert stack.peak_rss_mb()["child"] >= 256
    finally:
        child.kill()
        child.wait()


def test_a_billing_run_s_peak_counts_from_the_start_of_the_run() -> None:
    held = b"x" * (200 << 20)  # what came before (the filling): a higher mark
    del held
    with billing.peak_rss() as memory:
        inside = b"y" * (64 << 20)
        del inside
    assert memory["before_mb"] + 60 <= memory["peak_mb"] < memory["before_mb"] + 190
