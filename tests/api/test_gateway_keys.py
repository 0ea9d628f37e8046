"""Tenants and API keys: ``icb tenant create``, keys hashed at rest, create / list / revoke."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from launcher.embedded import EmbeddedSystem
from services.gateway.models import ApiKeyRow, TenantRow
from tests.conftest import EmbeddedApi

REPO = Path(__file__).resolve().parents[2]


async def icb(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICB_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "launcher.cli",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def client(system: EmbeddedSystem, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=system.app), base_url="http://icb.test", headers=headers
    )


async def test_tenant_create_prints_a_working_admin_key_last(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out, err = await icb(
        "tenant", "create", "Acme IT", "--timezone", "Europe/Berlin", "--data-dir", str(data)
    )
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("icb_"), out
    system = EmbeddedSystem(data, environment="test")
    await system.start()
    try:
        async with system.runtimes["gateway"].sessions() as session:
            tenant = (await session.scalars(select(TenantRow))).one()
            row = (await session.scalars(select(ApiKeyRow))).one()
        assert (tenant.name, tenant.timezone) == ("Acme IT", "Europe/Berlin")
        assert (row.tenant_id, row.role) == (tenant.id, "admin")
        secret = key.split("_", 2)[2]
        assert row.secret_hash.startswith("$argon2id$")
        assert secret not in row.secret_hash and secret not in out.splitlines()[0]
        async with client(system, key) as api:
            response = await api.get("/v1/api-keys")
            assert response.status_code == 200, response.text
            assert [k["id"] for k in response.json()["items"]] == [row.id]
            wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
            api.headers["Authorization"] = f"Bearer {wrong}"
            assert (await api.get("/v1/api-keys")).status_code == 401
    finally:
        await system.stop()


async def test_tenant_create_refuses_an_unknown_time_zone(tmp_path: Path) -> None:
    code, out, err = await icb(
        "tenant",
        "create",
        "Acme",
        "--timezone",
        "Mars/Olympus",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert code == 2
    assert "Mars/Olympus" in err and "icb_" not in out


async def test_keys_are_created_with_a_role_listed_without_secrets_and_revoked_at_once(
    embedded_api: EmbeddedApi,
) -> None:
    admin = embedded_api.client
    created = await admin.post("/v1/api-keys", json={"name": "billing team", "role": "billing"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "billing" and body["name"] == "billing team"
    assert body["key"].startswith(f"icb_{body['id']}_") and body["revoked_at"] is None

    async with client(embedded_api.system, body["key"]) as billing:
        assert (await billing.get("/v1/companies")).status_code == 200
        assert (await billing.get("/v1/api-keys")).status_code == 403

        listed = await admin.get("/v1/api-keys")
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert {k["role"] for k in items} == {"admin", "billing"}
        secret = body["key"].split("_", 2)[2]
        assert secret not in listed.text and "hash" not in listed.text
        assert all(set(k) == {"id", "name", "role", "created_at", "revoked_at"} for k in items)

        async with embedded_api.system.runtimes["gateway"].sessions() as session:
            row = await session.get(ApiKeyRow, body["id"])
        assert row is not None and row.secret_hash.startswith("$argon2id$")
        assert secret not in row.secret_hash

        revoked = await admin.delete(f"/v1/api-keys/{body['id']}")
        assert revoked.status_code == 204
        # At once: the very next request with the key is refused (no cache keeps it alive).
        refused = await billing.get("/v1/companies")
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["www-authenticate"] == "Bearer"
        again = await admin.delete(f"/v1/api-keys/{body['id']}")
        assert again.status_code == 204

    after = {k["id"]: k for k in (await admin.get("/v1/api-keys")).json()["items"]}
    assert after[body["id"]]["revoked_at"] is not None


async def test_only_admins_manage_keys_and_only_their_tenants(embedded_api: EmbeddedApi) -> None:
    admin = embedded_api.client
    for role in ("billing", "ingest", "viewer"):
        key = (await admin.post("/v1/api-keys", json={"name": role, "role": role})).json()["key"]
        async with client(embedded_api.system, key) as other:
            made = await other.post("/v1/api-keys", json={"name": "mine", "role": "admin"})
            assert made.status_code == 403, (role, made.text)
            assert (await other.get("/v1/api-keys")).status_code == 403
            own_id = key.split("_")[1]
            assert (await other.delete(f"/v1/api-keys/{own_id}")).status_code == 403
    async with await embedded_api.new_tenant() as stranger:
        mine = (await admin.get("/v1/api-keys")).json()["items"][0]["id"]
        assert (await stranger.delete(f"/v1/api-keys/{mine}")).status_code == 404
        assert (await stranger.delete("/v1/api-keys/0000000000000000")).status_code == 404
        ids = {k["id"] for k in (await stranger.get("/v1/api-keys")).json()["items"]}
        assert mine not in ids and len(ids) == 1
    assert (await admin.get("/v1/api-keys")).status_code == 200


async def test_key_requests_are_validated(embedded_api: EmbeddedApi) -> None:
    admin = embedded_api.client
    for body in (
        {"name": "x", "role": "root"},
        {"name": "", "role": "viewer"},
        {"role": "admin"},
        {"name": "x", "role": "viewer", "extra": 1},
    ):
        response = await admin.post("/v1/api-keys", json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["errors"] and all({"loc", "msg"} <= e.keys() for e in problem["errors"])
    for header in (
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer icb_x",
        "Bearer icb__",
        "Bearer icb_a_b_c",
        "Bearer " + "x" * 5000,
    ):
        async with client(embedded_api.system, None) as anonymous:
            response = await anonymous.get("/v1/companies", headers={"Authorization": header})
            assert response.status_code == 401, (header, response.text)
