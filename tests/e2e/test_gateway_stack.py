"""The gateway on the real stack (four processes, Kafka, PostgreSQL): schemathesis against its
aggregated OpenAPI document, services that refuse unsigned calls, a stopped service, request
ids in every service's log, the audit trail and tenant isolation."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from shared.context import H_REQUEST_ID, H_SIGNATURE, CallerContext, sign
from shared.settings import ServiceSettings
from tests.support.fuzz import fuzz_gateway
from tests.support.stack import Stack, Tenant

pytestmark = pytest.mark.e2e

EXAMPLES = 15
RATE = 40.0
"""Requests a second the fuzzer sends: below the gateway's default limit of 50 per key."""
DEFAULT_SECRET: str = ServiceSettings.model_fields["internal_secret"].default


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status and {"type", "title", "detail"} <= body.keys()
    return body


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    """A tenant of its own, so that what these tests write stays out of the others' way."""
    return await stack.new_tenant()


def test_schemathesis_finds_nothing_on_the_real_stack(stack: Stack, tenant: Tenant) -> None:
    failures = fuzz_gateway(stack.url("gateway"), tenant.key, EXAMPLES, per_second=RATE)
    assert not failures, "\n\n".join(failures)


async def test_services_answer_only_the_gateway(stack: Stack, tenant: Tenant) -> None:
    ctx = CallerContext(tenant.id, "UTC", "admin", "k")
    for service, path in (
        ("ingest", "/v1/modules"),
        ("mapping", "/v1/companies"),
        ("invoicing", "/v1/contracts"),
    ):
        async with httpx.AsyncClient(base_url=stack.url(service), timeout=30) as direct:
            problem(await direct.get(path), 401)
            problem(await direct.get(path, headers=sign("forged", ctx, "GET", path)), 401)
            unsigned = {
                k: v for k, v in sign(DEFAULT_SECRET, ctx, "GET", path).items() if k != H_SIGNATURE
            }
            problem(await direct.get(path, headers=unsigned), 401)
            tampered = {**sign(DEFAULT_SECRET, ctx, "GET", path), "x-icb-tenant": "other"}
            problem(await direct.get(path, headers=tampered), 401)
            signed = await direct.get(path, headers=sign(DEFAULT_SECRET, ctx, "GET", path))
            assert signed.status_code == 200, signed.text


async def test_the_request_id_is_in_every_log_on_the_way(stack: Stack, tenant: Tenant) -> None:
    rid = f"e2e-{uuid.uuid4().hex[:12]}"
    async with stack.client(tenant.key) as api:
        created = await api.post(
            "/v1/companies", json={"name": "Logged Ltd"}, headers={H_REQUEST_ID: rid}
        )
        assert created.status_code == 201, created.text
        assert created.headers[H_REQUEST_ID] == rid
        contract = await api.post(
            "/v1/contracts",
            headers={H_REQUEST_ID: rid},
            json={
                "company_id": created.json()["id"],
                "name": "c",
                "start_date": "2024-01-01",
                "currency": "EUR",
                "services": [{"service_code": "S", "name": "s", "unit_price": "1"}],
            },
        )
        assert contract.status_code == 201, contract.text
        audit = (await api.get("/v1/audit", params={"order": "oldest"})).json()["items"]
    assert [(a["method"], a["path"], a["status"], a["request_id"]) for a in audit] == [
        ("POST", "/v1/companies", 201, rid),
        ("POST", "/v1/contracts", 201, rid),
    ]
    # The gateway, the service it called, and the service that one called (invoicing reads
    # the company from mapping) all log under the caller's id.
    for service, line in (
        ("gateway", "POST /v1/companies -> 201"),
        ("mapping", "POST /v1/companies -> 201"),
        ("invoicing", "POST /v1/contracts -> 201"),
    ):
        records = [
            json.loads(text)
            for text in stack.services[service].log.read_text(errors="replace").splitlines()
            if text.startswith("{") and text.endswith("}")
        ]
        assert any(
            r["logger"] == "icb.access"
            and r["request_id"] == rid
            and r["message"].startswith(f"{line} in ")
            for r in records
        ), service


async def test_a_stopped_service_answers_503_then_recovers(stack: Stack, tenant: Tenant) -> None:
    async with stack.client(tenant.key) as api:
        assert (await api.get("/v1/companies")).status_code == 200
        await stack.kill("mapping")
        try:
            body = problem(await api.get("/v1/companies"), 503)
            assert body["detail"] == "The mapping service is unavailable."
            assert "127.0.0.1" not in str(body)
            problem(await api.post("/v1/companies", json={"name": "x"}), 503)
            assert (await api.get("/v1/contracts")).status_code == 200
            ready = await api.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["mapping"] is False
        finally:
            await stack.start("mapping")
        assert (await api.get("/v1/companies")).status_code == 200
        audit = (await api.get("/v1/audit")).json()["items"]
        assert [(a["method"], a["status"]) for a in audit] == [("POST", 503)]


async def test_another_tenant_gets_404_on_the_resources_of_the_first(
    stack: Stack,
    tenant: Tenant,
) -> None:
    other = await stack.new_tenant()
    async with stack.client(tenant.key) as first, stack.client(other.key) as second:
        company = (await first.post("/v1/companies", json={"name": "Mine"})).json()["id"]
        contract = (
            await first.post(
                "/v1/contracts",
                json={
                    "company_id": company,
                    "name": "c",
                    "start_date": "2024-01-01",
                    "currency": "EUR",
                    "services": [{"service_code": "S", "name": "s", "unit_price": "1"}],
                },
            )
        ).json()["id"]
        key = (await first.post("/v1/api-keys", json={"name": "v", "role": "viewer"})).json()
        for method, path, body in (
            ("GET", f"/v1/companies/{company}", None),
            ("PATCH", f"/v1/companies/{company}", {"name": "Theirs"}),
            ("GET", f"/v1/companies/{company}/module-orgs", None),
            ("GET", f"/v1/contracts/{contract}", None),
            ("PATCH", f"/v1/contracts/{contract}", {"name": "Theirs"}),
            ("DELETE", f"/v1/api-keys/{key['id']}", None),
        ):
            problem(await second.request(method, path, json=body), 404)
        assert (await second.get("/v1/companies")).json()["items"] == []
        assert (await first.get(f"/v1/companies/{company}")).json()["name"] == "Mine"
        async with stack.client(key["key"]) as viewer:
            assert (await viewer.get("/v1/companies")).status_code == 200
            problem(await viewer.post("/v1/companies", json={"name": "x"}), 403)
