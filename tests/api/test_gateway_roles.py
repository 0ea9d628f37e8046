"""Roles (PRODUCT.md section 7) on every operation of the aggregated OpenAPI document, and
tenant isolation: another tenant's resources answer 404, exactly like missing ones.

The expected roles are written here from the specification, not read from the gateway's
routing table, so that a wrong line in the table fails these tests.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.context import ROLES
from tests.conftest import EmbeddedApi, EmbeddedApiFactory

Op = tuple[str, str]  # (method, path template)
ANY_ROLE = frozenset(ROLES)
READERS = frozenset({"admin", "billing", "viewer"})
WRITERS = frozenset({"admin", "billing"})
ADMINS = frozenset({"admin"})

# Where the routing table may (and does) differ from the default rule below, and why.
DECIDED: dict[Op, frozenset[str]] = {
    # Usage writes: the ingest role's only door (and the admin's).
    ("post", "/v1/usage"): frozenset({"admin", "ingest"}),
    # A pull of usage on demand is a usage write too.
    ("post", "/v1/modules/{module}/sync"): frozenset({"admin", "billing", "ingest"}),
    # A module connection holds the vendor's credentials: only admins set or drop it.
    ("put", "/v1/modules/{module}/connection"): ADMINS,
    ("delete", "/v1/modules/{module}/connection"): ADMINS,
    ("post", "/v1/modules/{module}/connection/test"): ADMINS,
    # Every key may learn its own role (the console shows what the role allows).
    ("get", "/v1/api-keys/current"): ANY_ROLE,
    # Tenant settings (PRODUCT.md section 11): admins only, reading included.
    ("get", "/v1/settings"): ADMINS,
    ("patch", "/v1/settings"): ADMINS,
}


def expected_roles(method: str, template: str) -> frozenset[str]:
    """admin: everything, keys and audit included; billing: mappings, contracts, invoices
    and reads; ingest: usage writes only; viewer: reads only."""
    if (method, template) in DECIDED:
        return DECIDED[(method, template)]
    if template.startswith(("/v1/api-keys", "/v1/audit", "/v1/webhooks")):
        return ADMINS  # webhooks: section 13 (admin)
    return READERS if method == "get" else WRITERS


# The reads of the specification, all of which the world below has something for.
WORLD_READS = {
    "/v1/usage",
    "/v1/modules",
    "/v1/companies",
    "/v1/companies/{company_id}",
    "/v1/module-orgs",
    "/v1/companies/{company_id}/module-orgs",
    "/v1/contracts",
    "/v1/contracts/{contract_id}",
    "/v1/invoices",
    "/v1/invoices/{invoice_id}",
    "/v1/invoices/{invoice_id}/lines/{line_id}/explain",
    "/v1/billing-runs/{run_id}",
    "/v1/insights",
    "/v1/api-keys",
    "/v1/audit",
}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, ops in doc["paths"].items():
        for method, op in ops.items():
            if template.startswith("/v1/"):
                yield method, template, op


def is_problem(response: httpx.Response, status: int) -> bool:
    if response.status_code != status:
        return False
    body = response.json()
    return (
        response.headers["content-type"].startswith("application/problem+json")
        and body["status"] == status
        and {"type", "title", "detail"} <= body.keys()
    )


# -- one tenant's world: a company with mapped usage, a contract and an invoice --------------


@dataclass
class World:
    company_id: str
    contract_id: str
    invoice_id: str
    line_id: str
    org_id: str
    key_id: str
    """A spare key of the tenant, for revoking."""
    keys: dict[str, str]
    """An API key per role."""
    run_id: str
    """The billing run that made the invoice."""

    def params(self) -> dict[str, str]:
        return {
            "run_id": self.run_id,
            "company_id": self.company_id,
            "contract_id": self.contract_id,
            "invoice_id": self.invoice_id,
            "line_id": self.line_id,
            "org_id": self.org_id,
            "key_id": self.key_id,
            "module": "datto_rmm",
            "metric": "total_devices",
        }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


async def build_world(api: EmbeddedApi, client: httpx.AsyncClient | None = None) -> World:
    c = client or api.client
    today = datetime.now(UTC).date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    period = first.strftime("%Y-%m")
    days = [first + timedelta(days=i) for i in range(28)]
    org_id = f"org-{first:%m}"
    company = ok(
        await c.post("/v1/companies", json={"name": "Contoso Ltd", "currency": "EUR"}), 201
    )
    ok(
        await c.put(
            "/v1/modules/datto_rmm/billing",
            json={"enabled": True, "effective_from": first.isoformat()},
        )
    )
    ok(await c.put("/v1/service-mappings/datto_rmm/total_devices", json={"service_codes": ["RMM"]}))
    contract = ok(
        await c.post(
            "/v1/contracts",
            json={
                "company_id": company["id"],
                "name": "Managed services",
                "start_date": first.isoformat(),
                "currency": "EUR",
                "services": [{"service_code": "RMM", "name": "RMM devices", "unit_price": "2.50"}],
            },
        ),
        201,
    )
    usage = ok(
        await c.post(
            "/v1/usage",
            json={
                "records": [
                    {
                        "module": "datto_rmm",
                        "org_id": org_id,
                        "org_name": "Contoso",
                        "metric": "total_devices",
                        "date": d.isoformat(),
                        "quantity": "10",
                    }
                    for d in days
                ]
            },
        )
    )
    assert usage["accepted"] == len(days), usage
    await api.settle()
    ok(
        await c.put(
            f"/v1/module-orgs/datto_rmm/{org_id}/mapping", json={"company_id": company["id"]}
        )
    )
    await api.settle()
    run = ok(await c.post("/v1/billing-runs", json={"period": period}), 201)
    invoices = ok(await c.get("/v1/invoices", params={"company_id": company["id"]}))["items"]
    assert len(invoices) == 1, invoices
    invoice = ok(await c.get(f"/v1/invoices/{invoices[0]['id']}"))
    assert invoice["lines"], invoice
    keys = {"admin": _bearer(c)}
    for role in ("billing", "ingest", "viewer"):
        keys[role] = ok(await c.post("/v1/api-keys", json={"name": role, "role": role}), 201)["key"]
    spare = ok(await c.post("/v1/api-keys", json={"name": "spare", "role": "viewer"}), 201)
    return World(
        company["id"],
        contract["id"],
        invoice["id"],
        invoice["lines"][0]["id"],
        org_id,
        spare["id"],
        keys,
        run["id"],
    )


def anonymous_client(api: EmbeddedApi) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app), base_url="http://icb.test", timeout=60
    )


def _bearer(client: httpx.AsyncClient) -> str:
    return client.headers["authorization"].removeprefix("Bearer ")


def fill(template: str, params: dict[str, str]) -> tuple[str, bool]:
    """The path with the world's values; and whether every parameter had one."""
    known = True

    def value(m: re.Match[str]) -> str:
        nonlocal known
        if m.group(1) not in params:
            known = False
        return params.get(m.group(1), "unknown")

    return re.sub(r"\{([^}]+)\}", value, template), known


async def call(
    client: httpx.AsyncClient, method: str, path: str, key: str | None, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if body is None and method in ("post", "put", "patch"):
        body = {}
    return await client.request(
        method.upper(),
        path,
        headers=headers,
        json=body if method in ("post", "put", "patch") else None,
    )


# -- the tests ----------------------------------------------------------------------------------


@pytest.fixture
async def embedded_api(make_embedded_api: EmbeddedApiFactory) -> AsyncIterator[EmbeddedApi]:
    """Every operation tried without a key and with a wrong one: hundreds of refusals from one
    address, far beyond what the failed-authentication throttle allows a client."""
    async with make_embedded_api(auth_failure_burst=100_000) as api:
        yield api


async def test_every_operation_enforces_the_roles_of_the_specification(
    embedded_api: EmbeddedApi,
) -> None:
    world = await build_world(embedded_api)
    failures: list[str] = []
    params = world.params()
    async with anonymous_client(embedded_api) as anonymous:
        doc = ok(await anonymous.get("/openapi.json"))
        ops = list(operations(doc))
        assert len(ops) >= 30, [f"{m} {t}" for m, t, _ in ops]
        for method, template, _op in ops:
            path, known = fill(template, params)
            allowed = expected_roles(method, template)
            for key, label in ((None, "no key"), ("icb_0000_nope", "unknown key")):
                response = await call(anonymous, method, path, key)
                if not is_problem(response, 401):
                    failures.append(f"{method} {template} with {label}: {response.status_code}")
            # The roles refused first, so that allowed writes cannot hide a refusal.
            for role in sorted(ROLES, key=lambda r: r in allowed):
                response = await call(anonymous, method, path, world.keys[role])
                status = response.status_code
                if role not in allowed:
                    if not is_problem(response, 403):
                        failures.append(f"{method} {template} as {role}: {status}, want 403")
                    elif not response.json()["detail"].startswith(f"The role '{role}' may not"):
                        failures.append(f"{method} {template} as {role}: {response.text}")
                elif status in (401, 403) or status >= 500:
                    failures.append(f"{method} {template} as {role}: {status} {response.text}")
                elif method == "get" and known and template in WORLD_READS and status != 200:
                    failures.append(f"{method} {template} as {role}: {status}, want 200")
    assert not failures, "\n".join(failures)


async def test_health_is_public(embedded_api: EmbeddedApi) -> None:
    async with anonymous_client(embedded_api) as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {
            "database": True,
            "ingest": True,
            "mapping": True,
            "invoicing": True,
        }


# Bodies that pass validation, so that the answer comes from looking the resource up.
VALID_BODIES: dict[Op, Any] = {
    ("patch", "/v1/companies/{company_id}"): {"name": "Mine now"},
    ("put", "/v1/companies/{company_id}/service-mappings/{module}/{metric}"): {
        "service_codes": ["STOLEN"]
    },
    ("patch", "/v1/contracts/{contract_id}"): {"name": "Mine now"},
    ("post", "/v1/contracts/{contract_id}/amendments"): {
        "effective_from": date.today().isoformat(),
        "services": [{"service_code": "STOLEN", "name": "Stolen", "unit_price": "1.00"}],
    },
    ("put", "/v1/module-orgs/{module}/{org_id}/mapping"): {"excluded": True},
    ("post", "/v1/invoices/{invoice_id}/payments"): {
        "amount": "1.00",
        "received_on": date.today().isoformat(),
        "reference": "x",
    },
}
TENANT_PARAMS = ("company_id", "contract_id", "invoice_id", "line_id", "org_id", "key_id", "run_id")
# Every resource of the specification's API, by the path that names it.
MUST_BE_NOT_FOUND = {
    ("get", "/v1/companies/{company_id}"),
    ("patch", "/v1/companies/{company_id}"),
    ("get", "/v1/companies/{company_id}/module-orgs"),
    ("put", "/v1/companies/{company_id}/service-mappings/{module}/{metric}"),
    ("get", "/v1/contracts/{contract_id}"),
    ("patch", "/v1/contracts/{contract_id}"),
    ("post", "/v1/contracts/{contract_id}/amendments"),
    ("get", "/v1/invoices/{invoice_id}"),
    ("get", "/v1/invoices/{invoice_id}/lines/{line_id}/explain"),
    ("post", "/v1/invoices/{invoice_id}/post"),
    ("post", "/v1/invoices/{invoice_id}/void"),
    ("get", "/v1/billing-runs/{run_id}"),
    ("delete", "/v1/module-orgs/{module}/{org_id}/mapping"),
    ("delete", "/v1/api-keys/{key_id}"),
}


async def test_another_tenant_finds_nothing_of_the_first(embedded_api: EmbeddedApi) -> None:
    world = await build_world(embedded_api)
    first = embedded_api.client
    before = {
        path: ok(await first.get(path))
        for path in (
            f"/v1/companies/{world.company_id}",
            f"/v1/contracts/{world.contract_id}",
            f"/v1/invoices/{world.invoice_id}",
            f"/v1/companies/{world.company_id}/module-orgs",
            "/v1/service-mappings",
            "/v1/api-keys",
        )
    }
    first_keys = {k["id"] for k in before["/v1/api-keys"]["items"]}
    missing = {name: f"{name.removesuffix('_id')}-that-never-was" for name in TENANT_PARAMS}
    seen: set[Op] = set()
    failures: list[str] = []
    async with await embedded_api.new_tenant() as other:
        doc = ok(await other.get("/openapi.json"))
        # Lookups before the writes that could create the other tenant's own resource.
        order = ("get", "delete", "patch", "post", "put")
        for method, template, _op in sorted(operations(doc), key=lambda o: order.index(o[0])):
            names = set(re.findall(r"\{([^}]+)\}", template))
            if not names & set(TENANT_PARAMS):
                continue
            seen.add((method, template))
            body = VALID_BODIES.get((method, template))
            theirs, _ = fill(template, world.params())
            nowhere, _ = fill(template, {**world.params(), **missing})
            got = await call(other, method, theirs, None, body)
            baseline = await call(other, method, nowhere, None, body)
            if (method, template) in MUST_BE_NOT_FOUND and not is_problem(got, 404):
                failures.append(f"{method} {template}: {got.status_code}, want 404")
            if (got.status_code, _kind(got)) != (baseline.status_code, _kind(baseline)):
                failures.append(
                    f"{method} {template}: {got.status_code} {got.text} but "
                    f"{baseline.status_code} for a missing one"
                )
        assert MUST_BE_NOT_FOUND <= seen, MUST_BE_NOT_FOUND - seen
        assert not failures, "\n".join(failures)

        # Lists and filters show none of the first tenant's rows.
        since = (date.today() - timedelta(days=62)).isoformat()
        for path, query in (
            ("/v1/companies", {}),
            ("/v1/contracts", {}),
            ("/v1/invoices", {}),
            ("/v1/invoices", {"company_id": world.company_id}),
            ("/v1/contracts", {"company_id": world.company_id}),
            ("/v1/module-orgs", {}),
            ("/v1/audit", {}),
            ("/v1/usage", {"company_id": world.company_id, "from": since}),
        ):
            items = ok(await other.get(path, params=query))["items"]
            assert not items or path == "/v1/audit", (path, items)
            assert all(item.get("key_id") not in first_keys for item in items), items
        assert ok(await other.get("/v1/service-mappings"))["items"] == []
        keys = ok(await other.get("/v1/api-keys"))["items"]
        assert {k["id"] for k in keys}.isdisjoint(
            {k["id"] for k in before["/v1/api-keys"]["items"]}
        )
        # A body naming the first tenant's company is refused like a missing company.
        contract = {
            "name": "x",
            "start_date": "2024-01-01",
            "currency": "EUR",
            "services": [{"service_code": "RMM", "name": "x", "unit_price": "1"}],
        }
        mine = await other.post("/v1/contracts", json={**contract, "company_id": world.company_id})
        none = await other.post("/v1/contracts", json={**contract, "company_id": "nope"})
        assert (mine.status_code, _kind(mine)) == (none.status_code, _kind(none)), mine.text
        assert mine.status_code in (404, 422)

    # Nothing of the first tenant changed.
    for path, body in before.items():
        assert ok(await first.get(path)) == body, path


def _kind(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    return str(response.json().get("type"))
