"""The generic connector against the module simulator (in process) and against broken APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest

from services.ingest.sync.connectors import (
    CONNECTORS,
    ConnectorError,
    ConnectorRegistry,
    Failure,
    GenericConnector,
    Pull,
)
from tools.simulator import SimulatorState, create_app

DAY = date(2026, 10, 14)
TOKEN = "t0ken"


@pytest.fixture(scope="module")
def state() -> SimulatorState:
    return SimulatorState(seed=11, companies=15, period="2026-10", token=TOKEN, page_size=7)


def _client(state: SimulatorState) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)))


def _pull(module: str, token: str = TOKEN, max_pages: int = 10_000) -> Pull:
    return Pull(module, DAY, f"http://simulator/{module}/v1/", {"token": token}, max_pages)


async def test_fetches_every_page_in_the_push_shape(state: SimulatorState) -> None:
    module = "datto_azure_backup"  # has a fractional metric
    expected = state.items(module, DAY)
    assert len(expected) > 7  # more than one page
    async with _client(state) as client:
        records = await GenericConnector().fetch(client, _pull(module))
    assert records == [{**item, "module": module} for item in expected]
    assert {r["date"] for r in records} == {DAY.isoformat()}


async def test_quantities_stay_decimal() -> None:
    body = {
        "items": [{"org_id": "1", "org_name": "A", "metric": "storage_tb", "quantity": 1.0625}],
        "next_page": None,
    }
    transport = httpx.MockTransport(
        lambda _r: httpx.Response(200, content=json.dumps(body).encode())
    )
    async with httpx.AsyncClient(transport=transport) as client:
        records = await GenericConnector().fetch(client, _pull("datto_azure_backup"))
    assert records[0]["quantity"] == Decimal("1.0625")
    assert records[0]["module"] == "datto_azure_backup"


async def test_the_module_id_cannot_be_overridden_by_the_api() -> None:
    body = {"items": [{"module": "datto_rmm", "org_id": "1"}, "junk"], "next_page": None}
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, json=body))
    async with httpx.AsyncClient(transport=transport) as client:
        records = await GenericConnector().fetch(client, _pull("graphus"))
    assert records[0]["module"] == "graphus"
    assert records[1] == "junk"  # left for validation to reject precisely


async def test_sends_the_bearer_token_and_asks_page_by_page(state: SimulatorState) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"items": [], "next_page": page + 1 if page < 3 else None})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert await GenericConnector().fetch(client, _pull("graphus")) == []
    assert [r.url.params["page"] for r in seen] == ["1", "2", "3"]
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {TOKEN}"}
    assert {r.url.path for r in seen} == {"/graphus/v1/usage"}
    assert {r.url.params["date"] for r in seen} == {DAY.isoformat()}


async def test_refused_credentials_are_not_retried(state: SimulatorState) -> None:
    async with _client(state) as client:
        with pytest.raises(ConnectorError, match="refused the credentials") as err:
            await GenericConnector().fetch(client, _pull("graphus", token="wrong"))
    assert err.value.retryable is False


async def test_server_errors_are_retryable_and_nothing_partial_is_returned(
    state: SimulatorState,
) -> None:
    state.fail("datto_rmm", DAY, from_page=2)
    try:
        async with _client(state) as client:
            with pytest.raises(ConnectorError, match="HTTP 500") as err:
                await GenericConnector().fetch(client, _pull("datto_rmm"))
    finally:
        state.heal()
    assert err.value.retryable is True


def _broken(response: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(response))


@pytest.mark.parametrize(
    ("response", "message", "retryable"),
    [
        (lambda r: httpx.Response(404), "HTTP 404", False),
        (lambda r: httpx.Response(429), "HTTP 429", True),
        (lambda r: httpx.Response(503), "HTTP 503", True),
        (lambda r: httpx.Response(200, content=b"<html>"), "not JSON", True),
        (lambda r: httpx.Response(200, json={"data": []}), "lacks 'items'", True),
        (lambda r: httpx.Response(200, json={"items": [], "next_page": "2"}), "lacks", True),
        (
            lambda r: httpx.Response(200, json={"items": [], "next_page": 1}),
            "do not advance",
            False,
        ),
    ],
)
async def test_broken_answers(
    response: Callable[[httpx.Request], httpx.Response], message: str, retryable: bool
) -> None:
    async with _broken(response) as client:
        with pytest.raises(ConnectorError, match=message) as err:
            await GenericConnector().fetch(client, _pull("graphus"))
    assert err.value.retryable is retryable


async def test_unreachable_module_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _broken(refuse) as client:
        with pytest.raises(ConnectorError, match="could not be reached") as err:
            await GenericConnector().fetch(client, _pull("graphus"))
    assert err.value.retryable is True


async def test_page_limit() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"items": [], "next_page": int(request.url.params["page"]) + 1}
        )

    async with _broken(endless) as client:
        with pytest.raises(ConnectorError, match="more than 5 pages"):
            await GenericConnector().fetch(client, _pull("graphus", max_pages=5))


class _Fixed:
    async def fetch(self, client: httpx.AsyncClient, pull: Pull) -> list[object]:
        return [{"module": pull.module}]

    async def check(self, client: httpx.AsyncClient, pull: Pull) -> None:
        return None


def test_registry_is_keyed_by_module_with_the_generic_default() -> None:
    registry = ConnectorRegistry(GenericConnector())
    special = _Fixed()
    registry.register("datto_rmm", special)
    assert registry.for_module("datto_rmm") is special
    assert isinstance(registry.for_module("graphus"), GenericConnector)
    registry.unregister("datto_rmm")
    assert isinstance(registry.for_module("datto_rmm"), GenericConnector)
    assert isinstance(CONNECTORS.for_module("vsa_10"), GenericConnector)


async def test_a_check_is_one_request_for_the_first_page(state: SimulatorState) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [{"org_id": "1"}], "next_page": 2})

    async with _broken(handler) as client:
        assert await GenericConnector().check(client, _pull("graphus")) is None
    [request] = seen
    assert request.url.path == "/graphus/v1/usage"
    assert dict(request.url.params) == {"date": DAY.isoformat(), "page": "1"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    async with _client(state) as client:
        await GenericConnector().check(client, _pull("graphus"))


@pytest.mark.parametrize(
    ("response", "failure", "message"),
    [
        (lambda r: httpx.Response(401), Failure.CREDENTIALS_REFUSED, "refused the credentials"),
        (lambda r: httpx.Response(403), Failure.CREDENTIALS_REFUSED, "HTTP 403 from GET"),
        (lambda r: httpx.Response(404), Failure.UNEXPECTED_ANSWER, "HTTP 404"),
        (lambda r: httpx.Response(500), Failure.UNEXPECTED_ANSWER, "HTTP 500"),
        (lambda r: httpx.Response(200, json=[]), Failure.UNEXPECTED_ANSWER, "lacks 'items'"),
    ],
)
async def test_a_check_says_why_it_failed(
    response: Callable[[httpx.Request], httpx.Response], failure: Failure, message: str
) -> None:
    async with _broken(response) as client:
        with pytest.raises(ConnectorError, match=message) as err:
            await GenericConnector().check(client, _pull("graphus"))
    assert err.value.failure is failure
    assert TOKEN not in str(err.value)


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout])
async def test_a_check_of_an_unreachable_module(error: type[httpx.TransportError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("no answer", request=request)

    async with _broken(fail) as client:
        with pytest.raises(ConnectorError) as err:
            await GenericConnector().check(client, _pull("graphus"))
    assert err.value.failure is Failure.UNREACHABLE
    assert "http://simulator/graphus/v1/usage" in str(err.value)
