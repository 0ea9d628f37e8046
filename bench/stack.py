"""The real stack for benchmarks: a fresh database, the four services as processes
(through deploy/services.sh, the path of `make up`), and a tenant."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parent.parent
RUN_DIR = REPO / ".run" / "bench"
"""where the services write their logs and pid files (``services/NAME.pid``)"""
PORTS = {
    "ICB_GATEWAY_PORT": 8300,
    "ICB_INGEST_PORT": 8301,
    "ICB_MAPPING_PORT": 8302,
    "ICB_INVOICING_PORT": 8303,
}


def _service_pids() -> dict[str, str]:
    """The bench stack's service processes (replicas included) by name."""
    return {f.stem: f.read_text().strip() for f in (RUN_DIR / "services").glob("*.pid")}


def cpu_seconds_by_service() -> dict[str, float]:
    """User and system CPU seconds of each service process so far."""
    out: dict[str, float] = {}
    for name, pid in _service_pids().items():
        values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(values[11]) + int(values[12])  # utime, stime (fields 14 and 15)
        out[name] = ticks / os.sysconf("SC_CLK_TCK")
    return out


def high_water_mb(pid: int | str) -> int:
    """The highest resident set of a process so far (its ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise ValueError(f"process {pid} reports no VmHWM")


def peak_rss_mb() -> dict[str, int]:
    """The highest resident set of each service process so far, in MB."""
    return {name: high_water_mb(pid) for name, pid in _service_pids().items()}


@dataclass(frozen=True)
class Stack:
    gateway_url: str
    database_url: str
    topic_prefix: str
    admin_key: str


def _dsn(url: str, database: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql").rsplit("/", 1)[0] + f"/{database}"


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _run(*args: str, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed with {proc.returncode}")
    return out.decode()


@asynccontextmanager
async def running_stack(extra_env: dict[str, str] | None = None) -> AsyncIterator[Stack]:
    """``extra_env`` adds settings for the services (e.g. ``ICB_OTLP_ENDPOINT``)."""
    base = ServiceSettings().database_url
    name = f"icb_bench_{secrets.token_hex(4)}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        "ICB_DATABASE_URL": url,
        "ICB_TOPIC_PREFIX": f"{name}.",
        "ICB_RUN_DIR": str(RUN_DIR),
        "ICB_LOG_LEVEL": "WARNING",
        # The bench loads its set-up through the API with one key as fast as it can.
        "ICB_RATE_LIMIT_PER_SECOND": "100000",
        "ICB_RATE_LIMIT_BURST": "100000",
        **{k: str(v) for k, v in PORTS.items()},
        **(extra_env or {}),
    }
    script = str(REPO / "deploy" / "services.sh")
    try:
        await _run(script, "start", env=env)
        out = await _run(
            str(REPO / ".venv" / "bin" / "icb"), "tenant", "create", "Bench MSP", env=env
        )
        yield Stack(
            f"http://127.0.0.1:{PORTS['ICB_GATEWAY_PORT']}",
            url,
            f"{name}.",
            out.strip().splitlines()[-1],
        )
    finally:
        await _run(script, "stop", env=env)
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
