"""Errors: every answer is an RFC 9457 problem; upstream refusals, timeouts and failures become
502/503/504 problems that leak nothing; only idempotent requests are retried; the request id
reaches the services."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway import app as gateway_app
from services.gateway import models
from services.gateway.keys import create_tenant
from services.gateway.proxy import Upstreams
from services.gateway.settings import GatewaySettings
from shared.context import H_REQUEST_ID, H_SIGNATURE, CallerContext, sign
from shared.db import create_all, create_engine, sqlite_url
from shared.logging import request_id_var
from tests.conftest import EmbeddedApi
from tests.support.stack import free_port

LEAKS = ("hunter2", "Traceback", "127.0.0.1", "RuntimeError", "Connect", "httpx", ".py")
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert PROBLEM_FIELDS <= body.keys() and body["status"] == status, body
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text)
    return body


@dataclass
class LoneGateway:
    client: httpx.AsyncClient
    upstreams: Upstreams


MakeGateway = Callable[[dict[str, httpx.AsyncClient]], Awaitable[LoneGateway]]


@pytest.fixture
async def lone_gateway(tmp_path: Path) -> AsyncIterator[MakeGateway]:
    """A gateway alone, in front of the upstream clients a test gives it."""
    engines: list[AsyncEngine] = []
    clients: list[httpx.AsyncClient] = []

    async def make(upstreams: dict[str, httpx.AsyncClient]) -> LoneGateway:
        settings = GatewaySettings(environment="test")
        engine = create_engine(sqlite_url(tmp_path, f"gateway{len(engines)}"), models.SCHEMA)
        engines.append(engine)
        await create_all(engine, models.Base.metadata)
        runtime = gateway_app.build_runtime(settings, engine, clients=upstreams)
        async with runtime.sessions() as session, session.begin():
            issued = await create_tenant(session, "Lone MSP")
        app = gateway_app.create_app(runtime, manage_runtime=False)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://icb.test",
            headers={"Authorization": f"Bearer {issued.key}"},
            timeout=30,
        )
        clients.append(client)
        return LoneGateway(client, runtime.upstreams)

    yield make
    for client in clients:
        await client.aclose()
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def blackhole() -> AsyncIterator[str]:
    """A TCP server that takes requests and never answers them."""
    stop = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await stop.wait()
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    stop.set()
    server.close()
    await server.wait_closed()


def failing_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PATCH"])
    async def fail(rest: str) -> PlainTextResponse:
        last = rest.rsplit("/", 1)[-1]
        if last == "raise":
            raise RuntimeError("db password hunter2")
        status = int(last) if last.isdigit() else 500
        return PlainTextResponse(
            'Traceback (most recent call last):\n  File "/srv/app.py", password=hunter2',
            status_code=status,
        )

    return app


# -- upstream failures -----------------------------------------------------------------------


async def test_a_stopped_service_answers_503_and_the_gateway_says_not_ready(
    embedded_api: EmbeddedApi,
) -> None:
    upstreams = embedded_api.system.gateway.upstreams
    running = upstreams.clients["mapping"]
    upstreams.clients["mapping"] = httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}")
    try:
        for method, path in (("GET", "/v1/companies"), ("POST", "/v1/companies")):
            response = await embedded_api.client.request(method, path, json={"name": "A"})
            body = assert_problem(response, 503)
            assert body["detail"] == "The mapping service is unavailable."
        # The others still answer.
        assert (await embedded_api.client.get("/v1/contracts")).status_code == 200
        ready = await embedded_api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["mapping"] is False
        audit = (await embedded_api.client.get("/v1/audit")).json()["items"]
        assert [(a["method"], a["path"], a["status"]) for a in audit] == [
            ("POST", "/v1/companies", 503)
        ]
    finally:
        await upstreams.clients["mapping"].aclose()
        upstreams.clients["mapping"] = running
    assert (await embedded_api.client.get("/v1/companies")).status_code == 200
    assert (await embedded_api.client.get("/readyz")).status_code == 200


async def test_a_slow_service_answers_504_in_time(
    lone_gateway: MakeGateway,
    blackhole: str,
) -> None:
    slow = httpx.AsyncClient(base_url=blackhole, timeout=httpx.Timeout(0.3, connect=1))
    gateway = await lone_gateway({"mapping": slow})
    started = time.monotonic()
    for method in ("GET", "POST"):
        response = await gateway.client.request(method, "/v1/companies", json={"name": "A"})
        body = assert_problem(response, 504)
        assert body["detail"] == "The mapping service did not answer in time."
    assert time.monotonic() - started < 5
    await slow.aclose()


@pytest.mark.parametrize(
    ("upstream_status", "status"), [(500, 502), (501, 502), (503, 503), (504, 504), (599, 502)]
)
async def test_upstream_5xx_become_gateway_problems_without_their_body(
    lone_gateway: MakeGateway,
    upstream_status: int,
    status: int,
) -> None:
    upstream = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=failing_app()), base_url="http://mapping"
    )
    gateway = await lone_gateway({"mapping": upstream})
    response = await gateway.client.get(f"/v1/companies/{upstream_status}")
    assert_problem(response, status)


async def test_a_service_that_crashes_answers_502(lone_gateway: MakeGateway) -> None:
    upstream = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=failing_app()), base_url="http://mapping"
    )
    gateway = await lone_gateway({"mapping": upstream})
    for method in ("GET", "PATCH"):
        response = await gateway.client.request(method, "/v1/companies/raise", json={})
        assert_problem(response, 502)


@pytest.mark.parametrize(
    ("method", "path", "calls", "status"),
    [
        ("GET", "/v1/companies", 3, 200),
        ("PUT", "/v1/service-mappings/datto_rmm/servers", 3, 200),
        ("DELETE", "/v1/service-mappings/datto_rmm/servers", 3, 200),
        ("POST", "/v1/companies", 1, 503),
        ("PATCH", "/v1/companies/x", 1, 503),
    ],
)
async def test_only_idempotent_requests_are_retried(
    lone_gateway: MakeGateway,
    method: str,
    path: str,
    calls: int,
    status: int,
) -> None:
    seen: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    upstream = httpx.AsyncClient(transport=httpx.MockTransport(flaky), base_url="http://mapping")
    gateway = await lone_gateway({"mapping": upstream})
    response = await gateway.client.request(method, path, json={})
    assert response.status_code == status, response.text
    assert seen == [method] * calls


async def test_retries_give_up_with_503(lone_gateway: MakeGateway) -> None:
    calls = 0

    def down(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    upstream = httpx.AsyncClient(transport=httpx.MockTransport(down), base_url="http://mapping")
    gateway = await lone_gateway({"mapping": upstream})
    assert_problem(await gateway.client.get("/v1/companies"), 503)
    assert calls == 3


# -- request ids -----------------------------------------------------------------------------


class LogIds(logging.Handler):
    """Notes each line with the request id it is logged under (as the log format shows it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((request_id_var.get(), record.getMessage().split(" in ")[0]))


async def test_the_request_id_reaches_the_service_and_comes_back(
    embedded_api: EmbeddedApi,
) -> None:
    upstream = embedded_api.system.gateway.upstreams.clients["mapping"]
    sent: list[str] = []
    echoed: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request.headers[H_REQUEST_ID])

    async def on_response(response: httpx.Response) -> None:
        echoed.append(response.headers[H_REQUEST_ID])

    upstream.event_hooks["request"].append(on_request)
    upstream.event_hooks["response"].append(on_response)
    logged = LogIds()
    access = logging.getLogger("icb.access")
    access.addHandler(logged)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        response = await embedded_api.client.post(
            "/v1/companies", json={"name": "A"}, headers={H_REQUEST_ID: "req-42.a"}
        )
    finally:
        access.removeHandler(logged)
        access.setLevel(level)
    assert response.status_code == 201
    # One line by the service and one by the gateway, each under the caller's id.
    assert logged.lines == [("req-42.a", "POST /v1/companies -> 201")] * 2
    assert response.headers[H_REQUEST_ID] == "req-42.a"
    # The service adopted it (it answers with the id it logs under).
    assert sent == echoed == ["req-42.a"]
    audit = (await embedded_api.client.get("/v1/audit")).json()["items"]
    assert audit[-1]["request_id"] == "req-42.a"

    # Without one, or with one unfit for logs, the gateway makes one up and passes it on.
    for given in (None, b"x" * 65, b"a b", "é".encode(), b"a;b"):
        headers: dict[bytes, bytes] = {H_REQUEST_ID.encode(): given} if given else {}
        response = await embedded_api.client.get("/v1/companies", headers=headers)
        rid = response.headers[H_REQUEST_ID]
        assert rid.encode() != given and len(rid) == 32
        assert sent[-1] == echoed[-1] == rid


# -- problems everywhere -----------------------------------------------------------------------


async def test_the_gateway_answers_problems(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    assert_problem(await api.get("/v1/nothing-here"), 404)
    assert_problem(await api.get("/v1/companies/x/y/z"), 404)
    assert_problem(await api.delete("/v1/companies"), 405)
    assert_problem(await api.put("/v1/audit"), 405)
    assert_problem(await api.get("/v1/companies", headers={"Authorization": "Bearer no"}), 401)
    assert_problem(await api.get("/v1/companies", params={"limit": 0}), 422)
    assert_problem(await api.get("/v1/companies", params={"cursor": "!!"}), 422)
    assert_problem(
        await api.post(
            "/v1/companies", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    body = assert_problem(await api.post("/v1/companies", json={"name": ""}), 422)
    errors = body["errors"]
    assert isinstance(errors, list) and errors[0]["loc"] == ["body", "name"]


async def test_every_service_answers_problems(embedded_api: EmbeddedApi) -> None:
    ctx = CallerContext(embedded_api.tenant_id, "UTC", "admin", "k")
    secret = embedded_api.system.gateway.settings.internal_secret
    cases: dict[str, list[tuple[str, str, Any, int]]] = {
        "ingest": [
            ("PUT", "/v1/modules/nope/billing", {"enabled": True}, 404),
            ("PUT", "/v1/modules/datto_rmm/billing", {"enabled": "maybe"}, 422),
            ("POST", "/v1/usage", {"records": "no"}, 422),
        ],
        "mapping": [
            ("GET", "/v1/companies/nope", None, 404),
            ("POST", "/v1/companies", {"name": 5}, 422),
        ],
        "invoicing": [
            ("GET", "/v1/invoices/nope", None, 404),
            ("POST", "/v1/billing-runs", {"period": "2024-13"}, 422),
        ],
    }
    for service, requests in cases.items():
        app = embedded_api.system.apps[service]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{service}"
        ) as direct:
            assert_problem(await direct.get("/v1/anything"), 404)
            assert_problem(await direct.get("/v1/companies"), 401 if service == "mapping" else 404)
            for method, path, body, status in requests:
                headers = sign(secret, ctx, method, path)
                response = await direct.request(method, path, json=body, headers=headers)
                problem = assert_problem(response, status)
                if status == 422:
                    assert problem["errors"], problem
                unsigned = {k: v for k, v in headers.items() if k != H_SIGNATURE}
                assert_problem(await direct.request(method, path, json=body, headers=unsigned), 401)


async def test_repeated_query_parameters_all_reach_the_service(embedded_api: EmbeddedApi) -> None:
    # Were only the last value forwarded, the unknown first kind would go unnoticed.
    response = await embedded_api.client.get(
        "/v1/insights", params=[("kind", "no_such_kind"), ("kind", "stale_module")]
    )
    assert response.status_code == 422
    assert "no_such_kind" in response.json()["detail"]
