"""The doors around keys: a tenant keeps one active admin key, the operator can mint a key for
a tenant from the command line, and failed authentication is throttled and audited."""

from __future__ import annotations

import httpx

from services.gateway.models import AuditRow
from tests.api.test_gateway_keys import client, icb
from tests.conftest import EmbeddedApi


async def test_the_last_active_admin_key_cannot_be_revoked(embedded_api: EmbeddedApi) -> None:
    admin = embedded_api.client
    own = embedded_api.key.split("_")[1]
    refused = await admin.delete(f"/v1/api-keys/{own}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/conflict" and own in refused.json()["detail"]
    assert (await admin.get("/v1/api-keys")).status_code == 200  # still active

    viewer = (await admin.post("/v1/api-keys", json={"name": "v", "role": "viewer"})).json()
    assert (await admin.delete(f"/v1/api-keys/{viewer['id']}")).status_code == 204
    assert (await admin.delete(f"/v1/api-keys/{own}")).status_code == 409  # viewers don't count

    second = (await admin.post("/v1/api-keys", json={"name": "a2", "role": "admin"})).json()
    assert (await admin.delete(f"/v1/api-keys/{own}")).status_code == 204
    async with client(embedded_api.system, second["key"]) as other:
        assert (await other.delete(f"/v1/api-keys/{second['id']}")).status_code == 409
        assert (await other.delete(f"/v1/api-keys/{own}")).status_code == 204  # already revoked
        keys = {k["id"]: k for k in (await other.get("/v1/api-keys")).json()["items"]}
    assert keys[second["id"]]["revoked_at"] is None and keys[own]["revoked_at"] is not None


async def test_the_operator_creates_a_key_for_a_tenant_and_lists_tenants(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path)) / "data"
    code, out, err = await icb("tenant", "create", "Acme IT", "--data-dir", str(data))
    assert code == 0, err
    tenant_id = out.splitlines()[0].split()[1]
    code, out, err = await icb("tenant", "create", "Other MSP", "--data-dir", str(data))
    assert code == 0, err

    code, out, err = await icb(
        "key", "create", "--tenant", "Acme IT", "--role", "admin", "--data-dir", str(data)
    )
    assert code == 0, err
    by_name = out.strip().splitlines()[-1]
    assert by_name.startswith("icb_") and by_name.split("_")[2] not in out.splitlines()[0]
    code, out, err = await icb(
        "key", "create", "--tenant", tenant_id, "--role", "viewer", "--name", "audit",
        "--data-dir", str(data),
    )  # fmt: skip
    assert code == 0, err
    by_id = out.strip().splitlines()[-1]

    code, out, err = await icb("tenant", "list", "--data-dir", str(data))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    acme = next(line for line in lines if line.endswith("Acme IT"))
    assert acme.startswith(tenant_id) and "3 active keys" in acme
    assert "icb_" not in out

    from launcher.embedded import EmbeddedSystem

    system = EmbeddedSystem(data, environment="test")
    await system.start()
    try:
        async with client(system, by_name) as api:
            keys = (await api.get("/v1/api-keys")).json()["items"]
            assert {(k["name"], k["role"]) for k in keys} == {
                ("initial admin key", "admin"),
                ("operator key", "admin"),
                ("audit", "viewer"),
            }
        async with client(system, by_id) as api:
            assert (await api.get("/v1/companies")).status_code == 200
            assert (await api.get("/v1/api-keys")).status_code == 403
    finally:
        await system.stop()

    for args in (("--tenant", "Nobody", "--role", "admin"), ("--tenant", "Acme IT", "--role", "x")):
        code, out, err = await icb("key", "create", *args, "--data-dir", str(data))
        assert code == 2 and "icb_" not in out, (args, out, err)


def anonymous(api: EmbeddedApi, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app, client=(address, 1234)),
        base_url="http://icb.test",
    )
