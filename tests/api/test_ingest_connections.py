"""PUT/GET/DELETE /v1/modules/{module}/connection: credentials go in encrypted, never out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from services.ingest.models import ModuleConnectionRow
from tests.support.scenario import ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

URL = "/v1/modules/datto_rmm/connection"
SECRET = "tok-4f9a1c-very-secret"


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
    body = {"base_url": "https://rmm.example.com/api/v2", "credentials": {"token": SECRET}}
    created = ok(await api.put(URL, json=body))
    assert created["module"] == "datto_rmm"
    assert created["base_url"] == "https://rmm.example.com/api/v2"
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
            json={
                "base_url": "https://rmm.example.com/api/v3",
                "sync_time": "02:15",
                "enabled": False,
            },
        )
    )
    assert updated["base_url"].endswith("/v3") and updated["sync_time"] == "02:15"
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
        ({"base_url": "https://x.example"}, ["body", "credentials"]),
        (
            {"base_url": "https://x.example", "credentials": {"key": "v"}},
            ["body", "credentials", "token"],
        ),
        ({"base_url": "not a url", "credentials": {"token": "t"}}, ["body", "base_url"]),
        ({"base_url": "ftp://x.example", "credentials": {"token": "t"}}, ["body", "base_url"]),
        (
            {"base_url": "https://x.example", "credentials": {"token": "t"}, "sync_time": "25:00"},
            ["body", "sync_time"],
        ),
        (
            {"base_url": "https://x.example", "credentials": {"token": ""}},
            ["body", "credentials", "token"],
        ),
        (
            {"base_url": "https://x.example", "credentials": {"token": "t"}, "extra": 1},
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
    body = {"base_url": "https://x.example", "credentials": {"token": "t"}}
    assert (await api.put("/v1/modules/nope/connection", json=body)).status_code == 404
    ok(await api.put(URL, json=body))
    async with await embedded_api.new_tenant() as other:
        assert (await other.get(URL)).status_code == 404
        assert (await other.delete(URL)).status_code == 404
    assert (await api.get(URL)).status_code == 200


async def test_only_admins_change_connections(embedded_api: EmbeddedApi) -> None:
    body = {"base_url": "https://x.example", "credentials": {"token": "t"}}
    for role in ("billing", "ingest", "viewer"):
        async with await keyed_client(embedded_api, role) as client:
            assert (await client.put(URL, json=body)).status_code == 403
            assert (await client.delete(URL)).status_code == 403
    ok(await embedded_api.client.put(URL, json=body))
    async with await keyed_client(embedded_api, "viewer") as viewer:
        assert ok(await viewer.get(URL))["credential_names"] == ["token"]
        assert (await viewer.post("/v1/modules/datto_rmm/sync", json={})).status_code == 403
