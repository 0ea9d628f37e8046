"""PUT/GET/DELETE /v1/modules/{module}/connection: credentials go in encrypted, never out,
and only once the module's API (the simulator, in process) accepted them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from services.ingest.models import ModuleConnectionRow
from tests.support.scenario import ok
from tools.simulator import SimulatorState, create_app

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

URL = "/v1/modules/datto_rmm/connection"
SECRET = "tok-4f9a1c-very-secret"
BASE = "http://simulator/datto_rmm/v1"
UNREACHABLE = "http://unreachable.test/datto_rmm/v1"
SLOW = "http://slow.test/datto_rmm/v1"


class ModuleHosts(httpx.AsyncBaseTransport):
    """The simulator at host ``simulator``; ``slow.test`` times out; any other host cannot be
    reached. Counts the requests that reach the simulator."""

    def __init__(self, simulator: SimulatorState) -> None:
        self.simulator = httpx.ASGITransport(app=create_app(simulator))
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "slow.test":
            raise httpx.ReadTimeout("timed out", request=request)
        if request.url.host != "simulator":
            raise httpx.ConnectError("name or service not known", request=request)
        self.requests.append(request)
        return await self.simulator.handle_async_request(request)


@pytest.fixture(autouse=True)
async def modules(embedded_api: EmbeddedApi) -> AsyncIterator[ModuleHosts]:
    hosts = ModuleHosts(SimulatorState(seed=3, companies=4, token=SECRET))
    embedded_api.system.ingest.syncer.transport = hosts
    yield hosts


async def stored_connections(api: EmbeddedApi) -> int:
    async with api.system.runtimes["ingest"].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ModuleConnectionRow)) or 0)


async def keyed_client(api: EmbeddedApi, role: str) -> httpx.AsyncClient:
    key = ok(await api.client.post("/v1/api-keys", json={"name": role, "role": role}), 201)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {key['key']}"},
    )


async def test_connection_round_trip_without_secrets(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    assert (await api.get(URL)).status_code == 404
    body = {"base_url": BASE, "credentials": {"token": SECRET}}
    created = ok(await api.put(URL, json=body))
    assert created["module"] == "datto_rmm"
    assert created["base_url"] == BASE
    assert created["credential_names"] == ["token"]
    assert created["timezone"] == "UTC" and created["sync_time"] == "00:30"
    assert created["enabled"] is True
    assert SECRET not in (await api.get(URL)).text
    assert ok(await api.get(URL)) == created

    async with embedded_api.system.runtimes["ingest"].sessions() as session:
        row = await session.scalar(select(ModuleConnectionRow))
    assert row is not None and SECRET not in row.credentials  # encrypted at rest

    # Without credentials an update keeps them; sync_time and enabled change.
    updated = ok(
        await api.put(
            URL,
            json={"base_url": UNREACHABLE, "sync_time": "02:15", "enabled": False},
        )
    )  # a disabled connection is saved untried
    assert updated["base_url"] == UNREACHABLE and updated["sync_time"] == "02:15"
    assert updated["credential_names"] == ["token"] and updated["enabled"] is False
    modules = {m["module"]: m for m in ok(await api.get("/v1/modules"))["items"]}
    assert modules["datto_rmm"]["connected"] is True
    assert modules["vsa_10"]["connected"] is False

    assert (await api.delete(URL)).status_code == 204
    assert (await api.get(URL)).status_code == 404
    assert (await api.delete(URL)).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"base_url": BASE}, ["body", "credentials"]),
        (
            {"base_url": BASE, "credentials": {"key": "v"}},
            ["body", "credentials", "token"],
        ),
        ({"base_url": "not a url", "credentials": {"token": SECRET}}, ["body", "base_url"]),
        ({"base_url": "ftp://x.example", "credentials": {"token": SECRET}}, ["body", "base_url"]),
        (
            {"base_url": BASE, "credentials": {"token": SECRET}, "sync_time": "25:00"},
            ["body", "sync_time"],
        ),
        (
            {"base_url": BASE, "credentials": {"token": ""}},
            ["body", "credentials", "token"],
        ),
        (
            {"base_url": BASE, "credentials": {"token": SECRET}, "extra": 1},
            ["body", "extra"],
        ),
    ],
)
async def test_bad_connections_are_refused(
    embedded_api: EmbeddedApi, body: dict[str, Any], loc: list[str]
) -> None:
    problem = ok(await embedded_api.client.put(URL, json=body), 422)
    assert problem["errors"][0]["loc"] == loc
    assert (await embedded_api.client.get(URL)).status_code == 404


async def test_unknown_module_and_other_tenants(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    body = {"base_url": BASE, "credentials": {"token": SECRET}}
    assert (await api.put("/v1/modules/nope/connection", json=body)).status_code == 404
    ok(await api.put(URL, json=body))
    async with await embedded_api.new_tenant() as other:
        assert (await other.post(f"{URL}/test", json={"base_url": BASE})).status_code == 422
        assert (await other.get(URL)).status_code == 404
        assert (await other.delete(URL)).status_code == 404
    assert (await api.get(URL)).status_code == 200


async def test_only_admins_change_connections(embedded_api: EmbeddedApi) -> None:
    body = {"base_url": BASE, "credentials": {"token": SECRET}}
    for role in ("billing", "ingest", "viewer"):
        async with await keyed_client(embedded_api, role) as client:
            assert (await client.put(URL, json=body)).status_code == 403
            assert (await client.delete(URL)).status_code == 403
            assert (await client.post(f"{URL}/test", json=body)).status_code == 403
    ok(await embedded_api.client.put(URL, json=body))
    async with await keyed_client(embedded_api, "viewer") as viewer:
        assert ok(await viewer.get(URL))["credential_names"] == ["token"]
        assert (await viewer.post("/v1/modules/datto_rmm/sync", json={})).status_code == 403


def refusal(response: httpx.Response, reason: str, base_url: str) -> dict[str, Any]:
    problem = ok(response, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/connection-refused")
    assert (problem["reason"], problem["base_url"], problem["module"]) == (
        reason,
        base_url,
        "datto_rmm",
    )
    assert base_url in problem["detail"] and "Nothing was saved" in problem["detail"]
    return problem


async def test_saving_tries_the_credentials_against_the_module_first(
    embedded_api: EmbeddedApi, modules: ModuleHosts
) -> None:
    api = embedded_api.client
    wrong = "wrong-7c2e-secret"
    response = await api.put(URL, json={"base_url": BASE, "credentials": {"token": wrong}})
    problem = refusal(response, "credentials_refused", BASE)
    assert "refused the credentials" in problem["detail"] and "HTTP 401" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "credentials"]
    assert wrong not in response.text
    [request] = modules.requests  # one cheap request: the first page of the latest day
    assert request.url.path == "/datto_rmm/v1/usage"
    assert request.url.params["page"] == "1"
    assert request.headers["authorization"] == f"Bearer {wrong}"
    assert await stored_connections(embedded_api) == 0
    assert (await api.get(URL)).status_code == 404

    problem = refusal(
        await api.put(URL, json={"base_url": UNREACHABLE, "credentials": {"token": SECRET}}),
        "unreachable",
        UNREACHABLE,
    )
    assert "cannot be reached" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "base_url"]
    problem = refusal(
        await api.put(URL, json={"base_url": SLOW, "credentials": {"token": SECRET}}),
        "unreachable",
        SLOW,
    )
    assert "ReadTimeout" in problem["detail"]
    not_usage = "http://simulator/datto_rmm/v9"
    problem = refusal(
        await api.put(URL, json={"base_url": not_usage, "credentials": {"token": SECRET}}),
        "unexpected_answer",
        not_usage,
    )
    assert "HTTP 404" in problem["detail"]
    assert await stored_connections(embedded_api) == 0

    saved = ok(await api.put(URL, json={"base_url": BASE, "credentials": {"token": SECRET}}))
    # A refused change leaves the stored connection as it was.
    for body in (
        {"base_url": BASE, "credentials": {"token": wrong}},
        {"base_url": UNREACHABLE},
    ):
        assert (await api.put(URL, json=body)).status_code == 422
    assert ok(await api.get(URL)) == saved
    assert await stored_connections(embedded_api) == 1


async def test_a_connection_is_tested_without_storing_it(
    embedded_api: EmbeddedApi, modules: ModuleHosts
) -> None:
    api = embedded_api.client
    test = f"{URL}/test"
    body = {"base_url": BASE, "credentials": {"token": SECRET}}
    answer = ok(await api.post(test, json=body))
    assert answer == {
        "module": "datto_rmm",
        "base_url": BASE,
        "credential_names": ["token"],
        "accepted": True,
    }
    assert SECRET not in str(answer)
    assert await stored_connections(embedded_api) == 0
    refusal(
        await api.post(test, json={**body, "credentials": {"token": "wrong"}}),
        "credentials_refused",
        BASE,
    )
    refusal(
        await api.post(test, json={**body, "base_url": UNREACHABLE}), "unreachable", UNREACHABLE
    )
    # A disabled connection is saved untried, but a test always asks the module.
    refusal(
        await api.post(test, json={**body, "base_url": UNREACHABLE, "enabled": False}),
        "unreachable",
        UNREACHABLE,
    )
    problem = ok(await api.post(test, json={"base_url": BASE}), 422)
    assert problem["errors"][0]["loc"] == ["body", "credentials"]  # nothing stored to try
    assert (await api.get(URL)).status_code == 404
    assert (await api.post("/v1/modules/nope/connection/test", json=body)).status_code == 404

    # Without credentials, the stored ones are tried (here against another URL).
    ok(await api.put(URL, json=body))
    modules.requests.clear()
    assert ok(await api.post(test, json={"base_url": BASE + "/"}))["accepted"] is True
    assert [r.headers["authorization"] for r in modules.requests] == [f"Bearer {SECRET}"]
    refusal(await api.post(test, json={"base_url": UNREACHABLE}), "unreachable", UNREACHABLE)
    assert ok(await api.get(URL))["base_url"] == BASE


@pytest.mark.parametrize(
    ("credentials", "errors"),
    [
        ({"api_key": "x"}, [("token", "missing"), ("api_key", "unknown")]),
        (
            {"token": SECRET, "secret": "x", "api_key": "y"},
            [("api_key", "unknown"), ("secret", "unknown")],
        ),
        ({}, [("token", "missing")]),
    ],
)
async def test_credential_names_are_the_catalogs(
    embedded_api: EmbeddedApi,
    modules: ModuleHosts,
    credentials: dict[str, str],
    errors: list[tuple[str, str]],
) -> None:
    for method, url in (("PUT", URL), ("POST", f"{URL}/test")):
        response = await embedded_api.client.request(
            method, url, json={"base_url": BASE, "credentials": credentials}
        )
        problem = ok(response, 422)
        assert [(e["loc"][-1], e["msg"].split(":")[0]) for e in problem["errors"]] == errors
        assert all(e["loc"][:2] == ["body", "credentials"] for e in problem["errors"])
        assert "'token'" in problem["detail"]
        for name, _ in errors:
            assert repr(name) in problem["detail"]
    assert modules.requests == []  # refused before the module is asked
    assert await stored_connections(embedded_api) == 0


async def test_the_api_document_names_the_credentials(embedded_api: EmbeddedApi) -> None:
    doc = ok(await embedded_api.client.get("/openapi.json"))
    for method, path in (
        ("put", "/v1/modules/{module}/connection"),
        ("post", "/v1/modules/{module}/connection/test"),
    ):
        ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        schema = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]
        credentials = schema["properties"]["credentials"]
        assert "`token`" in credentials["description"]
        assert "Bearer" in credentials["description"]
        assert credentials["examples"] == [{"token": "the module's API token"}]
        assert schema["examples"][0]["credentials"] == {"token": "the module's API token"}
