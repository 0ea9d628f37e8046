"""The real stack for end-to-end tests: a fresh PostgreSQL database, topics of its own on
Kafka, and the four services as separate processes (``icb serve <service>``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import psutil
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shared.settings import ServiceSettings
from tests.support.polling import Pending, wait_for

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVICES = ("ingest", "mapping", "invoicing", "gateway")
READY_SECONDS = 120.0
COMMAND_SECONDS = 120.0


S = TypeVar("S", bound="Stack")


class InfraUnavailable(RuntimeError):
    """Kafka or PostgreSQL does not answer: the e2e tests cannot run (and must fail)."""


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    key: str


@dataclass(frozen=True)
class Unit:
    """One row of ``invoicing.units``."""

    module: str
    org_id: str
    metric: str
    day: date
    service_code: str
    status: str
    company_id: str | None
    quantity: Decimal
    version: int


@dataclass
class ServiceProcess:
    name: str
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None
    service: str = ""
    """the service it runs (a replica's name differs: ``mapping-2``)"""
    env: dict[str, str] = field(default_factory=dict)
    """settings of this process on top of the stack's"""

    def __post_init__(self) -> None:
        self.service = self.service or self.name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    root_url: str
    """``ICB_DATABASE_URL``: the server (and database) the test database is created next to."""
    kafka: str
    workdir: Path
    db_name: str = field(default_factory=lambda: f"icb_test_{secrets.token_hex(6)}")
    topic_prefix: str = field(default_factory=lambda: f"t{secrets.token_hex(6)}.")
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    admin: Tenant | None = None
    _pool: asyncpg.Pool | None = None
    _db_created: bool = False

    @classmethod
    def from_env(cls, workdir: Path) -> Stack:
        defaults = ServiceSettings.model_fields
        url = os.environ.get("ICB_DATABASE_URL", defaults["database_url"].default)
        kafka = os.environ.get(
            "ICB_KAFKA_BOOTSTRAP_SERVERS", defaults["kafka_bootstrap_servers"].default
        )
        return cls(url, kafka, workdir)

    # -- addresses -------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the test database."""
        return make_url(self.root_url).set(database=self.db_name).render_as_string(False)

    @property
    def dsn(self) -> str:
        """The libpq (asyncpg) address of the test database."""
        return self._dsn(self.db_name)

    def _dsn(self, database: str) -> str:
        url = make_url(self.root_url).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.services[service].port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICB_")}
        env.update(
            {
                "ICB_ENVIRONMENT": "test",
                "ICB_DATABASE_URL": self.database_url,
                "ICB_DATABASE_POOL_SIZE": "5",
                "ICB_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
                "ICB_TOPIC_PREFIX": self.topic_prefix,
                "ICB_LOG_LEVEL": "INFO",
                # The tests' webhook receivers listen on 127.0.0.1.
                "ICB_WEBHOOK_ALLOW_PRIVATE": "true",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(
            {
                f"ICB_{name.upper()}_URL": self.url(name)
                for name in ("ingest", "mapping", "invoicing")
            }
        )
        return env

    # -- lifecycle -------------------------------------------------------------------------

    async def up(self) -> None:
        await self._check_infrastructure()
        root = await asyncpg.connect(self._dsn(make_url(self.root_url).database or "postgres"))
        try:
            await root.execute(f'CREATE DATABASE "{self.db_name}"')
            self._db_created = True
        finally:
            await root.close()
        self.services = {
            name: ServiceProcess(name, free_port(), self.workdir / f"{name}.log")
            for name in SERVICES
        }
        await self.icb("migrate")
        self._pool = await asyncpg.create_pool(self._dsn(self.db_name), min_size=1, max_size=4)
        for name in SERVICES:
            await self._spawn(name)
        await asyncio.gather(*(self.wait_ready(name) for name in SERVICES))
        self.admin = await self.new_tenant()

    async def down(self) -> None:
        """Stops the services, drops the database and deletes the topics. Every step runs
        even when an earlier one failed; the failures are raised together at the end."""
        steps: list[Callable[[], Awaitable[None]]] = [
            *(functools.partial(self._stop, s) for s in self.services.values()),
            self._close_pool,
            self._drop_database,
        ]
        if self.services:  # the services created the topics
            steps.append(self._delete_topics)
        errors: list[Exception] = []
        for step in steps:
            try:
                await step()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise ExceptionGroup("tearing the stack down failed", errors)

    async def _close_pool(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _drop_database(self) -> None:
        if not self._db_created:
            return
        root = await asyncpg.connect(self._dsn(make_url(self.root_url).database or "postgres"))
        try:
            await root.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._db_created = False
        finally:
            await root.close()

    async def _check_infrastructure(self) -> None:
        url = make_url(self.root_url)
        try:
            conn = await asyncpg.connect(self._dsn(url.database or "postgres"), timeout=5)
            await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise InfraUnavailable(
                f"PostgreSQL at {url.host}:{url.port} (ICB_DATABASE_URL) does not answer: "
                f"{exc!r}. Start it with `bash deploy/infra.sh up`."
            ) from exc
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka, request_timeout_ms=5000)
        try:
            await asyncio.wait_for(admin.start(), timeout=15)
            await asyncio.wait_for(admin.list_topics(), timeout=15)
        except Exception as exc:
            raise InfraUnavailable(
                f"Kafka at {self.kafka} (ICB_KAFKA_BOOTSTRAP_SERVERS) does not answer: "
                f"{exc!r}. Start it with `bash deploy/infra.sh up`."
            ) from exc
        finally:
            await admin.close()

    async def _delete_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka, request_timeout_ms=5000)
        try:
            await asyncio.wait_for(admin.start(), timeout=15)
            ours = [t for t in await admin.list_topics() if t.startswith(self.topic_prefix)]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    # -- processes -------------------------------------------------------------------------

    async def icb(self, *args: str) -> str:
        """Runs the ``icb`` command line against the test database; answers its stdout."""
        proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "launcher.cli",
            *args,
            cwd=REPO,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=COMMAND_SECONDS)
        if proc.returncode != 0:
            raise RuntimeError(
                f"icb {' '.join(args)} failed ({proc.returncode}):\n{err.decode(errors='replace')}"
            )
        return out.decode()

    async def start(self, name: str) -> None:
        """Starts the service (on its port, appending to its log) and waits until it is ready."""
        await self._spawn(name)
        await self.wait_ready(name)

    async def add_replica(self, service: str, **settings: str) -> str:
        """Starts one more process of ``service`` (its consumers join the same groups) and
        answers its name; ``settings`` are its own ``ICB_*`` settings."""
        n = 1 + sum(1 for s in self.services.values() if s.service == service)
        name = f"{service}-{n}"
        self.services[name] = ServiceProcess(
            name, free_port(), self.workdir / f"{name}.log", service=service, env=settings
        )
        await self.start(name)
        return name

    async def _spawn(self, name: str) -> None:
        service = self.services[name]
        assert service.process is None or service.process.returncode is not None, "running"
        with service.log.open("ab") as log:
            service.process = await asyncio.create_subprocess_exec(
                PYTHON,
                "-m",
                "launcher.cli",
                "serve",
                service.service,
                "--port",
                str(service.port),
                cwd=REPO,
                env={**self.env, **service.env},
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_ready(self, name: str) -> None:
        service = self.services[name]

        async def ready() -> bool | Pending:
            assert service.process is not None
            code = service.process.returncode
            if code is not None:
                raise RuntimeError(f"{name} exited with {code}:\n{_tail(service.log)}")
            async with httpx.AsyncClient(timeout=5) as http:
                response = await http.get(f"{self.url(name)}/readyz")
            return response.status_code == 200 or Pending(response.text)

        await wait_for(
            ready,
            READY_SECONDS,
            f"{name} /readyz (log {service.log})",
            tolerate=(httpx.TransportError,),
        )

    def running(self, name: str) -> bool:
        process = self.services[name].process
        return process is not None and process.returncode is None

    async def writing(self, name: str) -> bool:
        """Whether the service's process is inside a database transaction that has written
        (a consumer's batch, a request's records, an outbox relay's round): a kill now cuts
        it in the middle."""
        process = self.services[name].process
        assert process is not None and self.running(name), f"{name} is not running"
        port = make_url(self.root_url).port or 5432
        ours = [
            c.laddr.port
            for c in psutil.Process(process.pid).net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port
        ]
        rows = await self.fetch(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1"
            " AND client_port = ANY($2::int[]) AND backend_xid IS NOT NULL",
            self.db_name,
            ours,
        )
        return bool(rows[0]["n"])

    async def kill(self, name: str) -> None:
        """``kill -9``: no shutdown hook of the service runs."""
        process = self.services[name].process
        assert process is not None and self.running(name), f"{name} is not running"
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 10)

    async def _stop(self, service: ServiceProcess) -> None:
        process = service.process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), 15)

    # -- tenants and clients ---------------------------------------------------------------

    async def new_tenant(self, name: str | None = None) -> Tenant:
        """``icb tenant create``: the admin key is the last line of its output."""
        name = name or f"MSP {secrets.token_hex(4)}"
        out = await self.icb("tenant", "create", name)
        key = out.strip().splitlines()[-1].strip()
        rows = await self.fetch("SELECT id FROM gateway.tenants WHERE name = $1", name)
        assert len(rows) == 1, f"expected one tenant named {name!r}, found {len(rows)}"
        return Tenant(rows[0]["id"], name, key)

    def client(self, key: str) -> httpx.AsyncClient:
        """A client of the public API (the gateway) with the bearer key."""
        return httpx.AsyncClient(
            base_url=self.url("gateway"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )

    # -- direct reads ----------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self._pool is not None, "the stack is not up"
        async with self._pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def units(self, tenant_id: str) -> list[Unit]:
        rows = await self.fetch(
            "SELECT module, org_id, metric, day, service_code, status, company_id, quantity,"
            " version FROM invoicing.units WHERE tenant_id = $1"
            " ORDER BY module, org_id, metric, day, service_code",
            tenant_id,
        )
        return [Unit(**dict(row)) for row in rows]

    async def unit_count(self, tenant_id: str) -> int:
        rows = await self.fetch(
            "SELECT count(*) AS n FROM invoicing.units WHERE tenant_id = $1", tenant_id
        )
        return int(rows[0]["n"])


@contextlib.asynccontextmanager
async def running(stack: S) -> AsyncIterator[S]:
    """The stack up for the block and down after it, whatever happens; without Kafka or
    PostgreSQL the test fails (never skips)."""
    try:
        await stack.up()
    except InfraUnavailable as exc:
        with contextlib.suppress(Exception):
            await stack.down()
        pytest.fail(str(exc), pytrace=False)
    except BaseException:
        await stack.down()
        raise
    try:
        yield stack
    finally:
        await stack.down()
