"""The doors around keys: a tenant keeps one active admin key, the operator can mint a key for
a tenant from the command line, and failed authentication is throttled and audited."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest
from sqlalchemy import select

from services.gateway.limits import AuthThrottle
from services.gateway.models import AuditRow
from services.ingest.models import ModuleConnectionRow
from shared.catalog import CATALOG
from shared.problems import TooManyRequests
from tests.api.test_gateway_keys import client, icb
from tests.conftest import EmbeddedApi, EmbeddedApiFactory
from tests.support.scenario import ok

# A few modules of the catalog with the names of their credentials.
CATALOG_MODULES = [
    (m, connector.credential_names)
    for m in CATALOG.module_ids[:3]
    if (connector := CATALOG.connector(m)) is not None
]


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


async def test_failed_authentications_are_throttled_per_address_and_key_and_audited(
    make_embedded_api: EmbeddedApiFactory,
) -> None:
    async with make_embedded_api(auth_failure_burst=3, auth_failures_per_minute=6) as api:
        key_id = api.key.split("_")[1]
        other = await api.client.post("/v1/api-keys", json={"name": "a2", "role": "admin"})
        assert other.status_code == 201
        guess = {"Authorization": f"Bearer icb_{key_id}_not-the-secret"}
        async with anonymous(api, "10.0.0.1") as attacker:
            for _ in range(3):
                response = await attacker.post("/v1/companies", json={}, headers=guess)
                assert response.status_code == 401, response.text
            throttled = await attacker.post("/v1/companies", json={}, headers=guess)
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["type"] == "/problems/rate-limited"
            assert 1 <= int(throttled.headers["retry-after"]) <= 10
            # The address is throttled whatever it sends, a valid key included.
            valid = {"Authorization": f"Bearer {api.key}"}
            assert (await attacker.get("/v1/companies", headers=valid)).status_code == 429
            # Nothing but the key named: the address is spent all the same.
            bare = {"Authorization": "Bearer nonsense"}
            assert (await attacker.get("/v1/companies", headers=bare)).status_code == 429

        # The key prefix is throttled from any address...
        async with anonymous(api, "10.0.0.2") as elsewhere:
            response = await elsewhere.get("/v1/companies", headers=guess)
            assert response.status_code == 429, response.text
            # ...while other keys from other addresses go on.
            fine = {"Authorization": f"Bearer {other.json()['key']}"}
            assert (await elsewhere.get("/v1/companies", headers=fine)).status_code == 200
            unknown = {"Authorization": "Bearer icb_0000000000000000_x"}
            for _ in range(3):
                assert (await elsewhere.get("/v1/companies", headers=unknown)).status_code == 401
            assert (await elsewhere.get("/v1/companies", headers=unknown)).status_code == 429

        async with api.system.gateway.sessions() as session:
            rows = list(await session.scalars(select(AuditRow).order_by(AuditRow.id)))
        failures = [r for r in rows if r.action == "auth.failed"]
        # Each refused attempt naming the tenant's key, with where it came from; the throttled
        # ones are refused before any look-up and the unknown key names no tenant.
        assert [(r.key_id, r.source, r.status, r.method) for r in failures] == [
            (key_id, "10.0.0.1", 401, "POST")
        ] * 3
        assert all(
            r.tenant_id == api.tenant_id and "not-the-secret" not in str(r.path) for r in failures
        )
        async with client(api.system, other.json()["key"]) as second:
            listed = (await second.get("/v1/audit", params={"action": "auth.failed"})).json()
        assert [e["key_id"] for e in listed["items"]] == [key_id] * 3


def test_the_throttle_recovers_with_time() -> None:
    now = [0.0]
    throttle = AuthThrottle(per_minute=60, burst=2, clock=lambda: now[0])
    throttle.failed("a", "k")
    throttle.failed("a", "k")
    with pytest.raises(TooManyRequests) as raised:
        throttle.check("a", None)
    assert raised.value.headers["Retry-After"] == "1"
    with pytest.raises(TooManyRequests):
        throttle.check("b", "k")
    throttle.check("b", "other")  # neither spent
    now[0] = 1.0
    throttle.check("a", "k")  # one attempt regained a second
    throttle.failed("a", "k")
    with pytest.raises(TooManyRequests):
        throttle.check("a", None)


async def test_secrets_appear_in_no_log_error_answer_or_audit(
    embedded_api: EmbeddedApi, caplog: pytest.LogCaptureFixture
) -> None:
    """API keys and module credentials, through key management, refused keys, connections
    saved and refused, validation errors and a throttled client: none of them in what the
    services log, in any answer but the one that issues a key, or in the audit."""
    caplog.set_level(logging.DEBUG)
    admin = embedded_api.client
    answers: list[httpx.Response] = []
    issued = ok(await admin.post("/v1/api-keys", json={"name": "ops", "role": "admin"}), 201)
    secrets = [
        embedded_api.key,
        issued["key"],
        *(k.split("_")[2] for k in (embedded_api.key, issued["key"])),
    ]
    credential = "cred-" + uuid.uuid4().hex
    secrets.append(credential)
    async with client(embedded_api.system, issued["key"]) as ops:
        for module in CATALOG_MODULES:
            connection = {
                "base_url": "http://127.0.0.1:9/api",
                "credentials": {name: credential for name in module[1]},
            }
            answers.append(
                await ops.put(
                    f"/v1/modules/{module[0]}/connection", json={**connection, "enabled": False}
                )
            )
            answers.append(await ops.put(f"/v1/modules/{module[0]}/connection", json=connection))
            answers.append(
                await ops.post(f"/v1/modules/{module[0]}/connection/test", json=connection)
            )
            answers.append(await ops.get(f"/v1/modules/{module[0]}/connection"))
        answers.append(await ops.post("/v1/api-keys", json={"name": issued["key"], "role": "x"}))
        answers.append(await ops.get("/v1/api-keys"))
        answers.append(await ops.delete(f"/v1/api-keys/{issued['id']}"))
    wrong = embedded_api.key[:-6] + "AAAAAA"
    async with client(embedded_api.system, wrong) as guesser:
        for _ in range(25):  # refused, then throttled
            answers.append(await guesser.get("/v1/companies"))
    async with client(embedded_api.system, issued["key"]) as revoked:
        answers.append(await revoked.get("/v1/companies"))
    answers.append(await admin.get("/v1/audit", params={"limit": 1000}))
    assert {a.status_code for a in answers} >= {200, 204, 401, 422, 429}

    shown = "\n".join(f"{a.status_code} {a.headers} {a.text}" for a in answers)
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    async with embedded_api.system.gateway.sessions() as session:
        audited = "\n".join(str(vars(r)) for r in await session.scalars(select(AuditRow)))
    async with embedded_api.system.ingest.sessions() as session:
        stored = "\n".join(str(vars(r)) for r in await session.scalars(select(ModuleConnectionRow)))
    saved = [a for a in answers if a.request.method == "PUT" and a.status_code == 200]
    assert saved and "credential_names" in json.dumps([a.json() for a in saved])  # named only
    assert CATALOG_MODULES
    for secret in secrets:
        assert secret not in shown, secret
        assert secret not in logged, secret
        assert secret not in audited, secret
        assert secret not in stored, secret  # hashed keys, encrypted credentials
