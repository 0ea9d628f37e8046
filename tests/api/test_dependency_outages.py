"""A dependency outage answers a 503 problem with ``Retry-After``, never a 500: every route of
every service with its database unreachable (a closed port, a file that cannot be opened),
the gateway with each service behind it unreachable, invoicing without mapping, and the
services whose broker is down (no route needs Kafka: writes go to the outbox)."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.gateway import app as gateway
from services.gateway.keys import create_tenant
from services.ingest import app as ingest
from services.invoicing import app as invoicing
from services.mapping import app as mapping
from shared.bus import InProcessBus
from shared.bus.kafka import KafkaBus
from shared.context import CallerContext, Role, sign
from shared.db import create_all, create_engine
from shared.problems import PROBLEM_JSON
from shared.runtime import BaseRuntime
from shared.service_client import ServiceClient

SECRET = "outage-test-secret"
CALLER = CallerContext("tenant-1", "UTC", Role.ADMIN, "key1")
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
# Bodies valid enough to reach the database, by route.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/usage"): {
        "records": [
            {
                "module": "datto_rmm",
                "org_id": "o1",
                "org_name": "Org",
                "metric": "servers",
                "date": YESTERDAY,
                "quantity": "3",
            }
        ]
    },
    ("POST", "/v1/companies"): {"name": "Contoso"},
    ("PUT", "/v1/service-mappings/{module}/{metric}"): {"service_codes": ["SRV"]},
    ("PUT", "/v1/module-orgs/{module}/{org_id}/mapping"): {"excluded": True},
    ("POST", "/v1/billing-runs"): {"period": "2026-01"},
    ("PUT", "/v1/modules/{module}/billing"): {"enabled": True, "effective_from": "2026-01-01"},
}
PARAMETERS = {"module": "datto_rmm", "metric": "servers", "org_id": "o1", "period": "2026-01"}


def closed_port() -> int:
    """A port nothing listens on (bound once to find it free, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_database(kind: str, tmp_path: Path) -> str:
    if kind == "postgresql":
        return f"postgresql+asyncpg://icb:icb@127.0.0.1:{closed_port()}/icb"
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's directory should be")
    return f"sqlite+aiosqlite:///{blocker / 'service.db'}"


def settings(cls: Any, url: str) -> Any:
    return cls(environment="test", database_url=url, internal_secret=SECRET)


def build(name: str, url: str) -> tuple[BaseRuntime, FastAPI]:
    schema = {"ingest": ingest, "mapping": mapping, "invoicing": invoicing, "gateway": gateway}
    module: Any = schema[name]
    options = settings(module.SETTINGS, url)
    engine = create_engine(url, module.SCHEMA_NAME)
    if name == "gateway":
        dead = f"http://127.0.0.1:{closed_port()}"
        runtime = module.build_runtime(
            options, engine, clients={s: httpx.AsyncClient(base_url=dead) for s in SERVICES}
        )
    elif name == "invoicing":
        client = ServiceClient(f"http://127.0.0.1:{closed_port()}", SECRET)
        runtime = module.build_runtime(options, engine, InProcessBus(), mapping=client)
    else:
        runtime = module.build_runtime(options, engine, InProcessBus())
    return runtime, module.create_app(runtime, manage_runtime=False)


SERVICES = ("ingest", "mapping", "invoicing")


def routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """Every (method, route template, concrete path) the app serves under ``/v1``."""
    found = []
    for template, operations in app.openapi()["paths"].items():
        if not template.startswith("/v1"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS.get(m[1], "x1"), template)
        found.extend((method.upper(), template, path) for method in sorted(operations))
    assert found, "the app serves no /v1 route"
    return found


def signed_client(app: FastAPI) -> Callable[[str, str, Any], Any]:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://svc.test",
    )

    async def call(method: str, path: str, body: Any) -> httpx.Response:
        headers = sign(SECRET, CALLER, method, path)
        if method in ("GET", "DELETE"):
            # Required query parameters filled (others ignore it), so reads reach the database.
            query = {"period": PARAMETERS["period"]}
            return await client.request(method, path, headers=headers, params=query)
        return await client.request(method, path, headers=headers, json=body)

    return call


def assert_outage_answer(response: httpx.Response, where: str) -> None:
    assert response.status_code == 503, (where, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), where
    assert int(response.headers["retry-after"]) >= 1, where
    problem = response.json()
    assert problem["type"] == "/problems/service-unavailable" and problem["status"] == 503


@pytest.fixture(params=["postgresql", "sqlite"])
async def database_down(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    yield dead_database(request.param, tmp_path)


@pytest.mark.parametrize("name", SERVICES)
async def test_every_route_answers_503_when_the_database_is_down(
    name: str, database_down: str
) -> None:
    runtime, app = build(name, database_down)
    call = signed_client(app)
    reached = []
    try:
        for method, template, path in routes(app):
            body = BODIES.get((method, template), {})
            response = await call(method, path, body)
            where = f"{name} {method} {template}"
            assert response.status_code < 500 or response.status_code == 503, (
                where,
                response.status_code,
                response.text,
            )
            if response.status_code == 503:
                assert_outage_answer(response, where)
                reached.append((method, template))
        # Every read, and every write whose body was valid, needed the database.
        for method, template, _ in routes(app):
            if method == "GET" or (method, template) in BODIES:
                assert (method, template) in reached, f"{name} {method} {template}"
        ready = await httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://svc.test"
        ).get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
    finally:
        await runtime.engine.dispose()


async def test_the_gateway_answers_503_when_its_database_is_down(database_down: str) -> None:
    """The API-key lookup is the first thing every request needs."""
    runtime, app = build("gateway", database_down)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://icb.test",
        headers={"Authorization": "Bearer icb_0123456789abcdef_secret"},
    )
    try:
        for method, path in (
            ("POST", "/v1/usage"),
            ("GET", "/v1/companies"),
            ("GET", "/v1/api-keys"),
            ("POST", "/v1/api-keys"),
            ("DELETE", "/v1/api-keys/0123456789abcdef"),
            ("GET", "/v1/audit"),
            ("PUT", "/v1/service-mappings/datto_rmm/servers"),
        ):
            response = await client.request(method, path, json={} if method != "GET" else None)
            assert_outage_answer(response, f"gateway {method} {path}")
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_gateway_answers_503_when_a_service_is_down(service: str, tmp_path: Path) -> None:
    """Every route of the service, through a gateway whose database works."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    runtime, app = build("gateway", url)
    await create_all(runtime.engine, gateway.metadata)
    async with runtime.transaction() as session:
        issued = await create_tenant(session, "MSP")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {issued.key}"},
    )
    _, service_app = build(service, url)  # only for its routes
    checked = 0
    try:
        for method, template, path in routes(service_app):
            if template.startswith("/v1/internal"):
                continue
            response = await client.request(
                method, path, json=None if method in ("GET", "DELETE") else {}
            )
            if response.status_code in (403, 404, 405):
                continue  # not public, or not this method through the gateway
            assert_outage_answer(response, f"{service} {method} {template}")
            checked += 1
        assert checked >= 3, service
    finally:
        await runtime.engine.dispose()


async def test_invoicing_answers_503_when_mapping_is_down(tmp_path: Path) -> None:
    """A contract for a company invoicing has not seen yet asks mapping for it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'invoicing.db'}"
    runtime, app = build("invoicing", url)
    await create_all(runtime.engine, invoicing.metadata)
    call = signed_client(app)
    body = {
        "company_id": "00000000-0000-0000-0000-000000000001",
        "name": "Managed services",
        "start_date": "2026-01-01",
        "currency": "EUR",
        "services": [{"service_code": "SRV", "name": "Servers", "unit_price": "10.00"}],
    }
    try:
        assert_outage_answer(await call("POST", "/v1/contracts", body), "invoicing contracts")
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize("name", ("ingest", "mapping", "invoicing"))
async def test_writes_are_accepted_while_the_broker_is_down(name: str, tmp_path: Path) -> None:
    """No route waits for Kafka: the event goes to the outbox with the write and the relay
    sends it once the broker is back; only readiness says the broker is missing."""
    module: Any = {"ingest": ingest, "mapping": mapping, "invoicing": invoicing}[name]
    url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    options = settings(module.SETTINGS, url)
    engine = create_engine(url, module.SCHEMA_NAME)
    await create_all(engine, module.metadata)
    bus = KafkaBus(f"127.0.0.1:{closed_port()}")  # never started: no broker to start on
    runtime = module.build_runtime(options, engine, bus)
    app = module.create_app(runtime, manage_runtime=False)
    call = signed_client(app)
    method, path, body = {
        "ingest": ("POST", "/v1/usage", BODIES[("POST", "/v1/usage")]),
        "mapping": ("POST", "/v1/companies", BODIES[("POST", "/v1/companies")]),
        "invoicing": ("PUT", "/v1/seller-profile", {"name": "Acme IT", "address": "1 Main St"}),
    }[name]
    try:
        response = await call(method, path, body)
        assert response.status_code in (200, 201), response.text
        ready = await httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://svc.test"
        ).get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["bus"] is False
        if name != "invoicing":  # a seller profile publishes nothing
            async with runtime.sessions() as session:
                queued = await session.scalar(
                    select(func.count()).select_from(runtime.outbox_table)
                )
            assert queued and queued >= 1
    finally:
        await engine.dispose()
