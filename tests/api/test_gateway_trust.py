"""Services answer only requests the gateway signed: every ``/v1`` route of every service
refuses a direct call without the signed caller headers, or with forged ones."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
from fastapi.routing import APIRoute, iter_route_contexts

from services.gateway.api import insights
from services.gateway.routes import GATEWAY, route_of_template
from shared.context import (
    H_KEY,
    H_ROLE,
    H_SIGNATURE,
    H_TENANT,
    H_TIMESTAMP,
    MAX_SKEW_SECONDS,
    CallerContext,
    sign,
)
from tests.conftest import EmbeddedApi

SERVICES = ("ingest", "mapping", "invoicing")


def service_routes(api: EmbeddedApi) -> Iterator[tuple[str, str, str]]:
    """(service, method, path template) of every public-looking route of every service."""
    for service in SERVICES:
        for route in iter_route_contexts(api.system.apps[service].routes):
            path = route.path or ""
            if isinstance(route.original_route, APIRoute) and path.startswith("/v1/"):
                for method in sorted(route.methods or ()):
                    yield service, method, path


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", template)


def direct(api: EmbeddedApi, service: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.apps[service]), base_url=f"http://{service}"
    )


def caller(api: EmbeddedApi, role: str = "admin") -> CallerContext:
    return CallerContext(api.tenant_id, "UTC", role, "somekey")  # type: ignore[arg-type]


async def test_every_service_route_refuses_unsigned_and_forged_calls(
    embedded_api: EmbeddedApi,
) -> None:
    secret = embedded_api.system.gateway.settings.internal_secret
    ctx = caller(embedded_api, "viewer")
    failures: list[str] = []
    routes = list(service_routes(embedded_api))
    assert len(routes) >= 25, routes
    for service, method, template in routes:
        path = concrete(template)
        good = sign(secret, ctx, method, path)
        attempts = {
            "no headers": {},
            "no signature": {k: v for k, v in good.items() if k != H_SIGNATURE},
            "wrong secret": sign("not-the-secret", ctx, method, path),
            "role raised": {**good, H_ROLE: "admin"},
            "other tenant": {**good, H_TENANT: "another-tenant"},
            "other key": {**good, H_KEY: "another-key"},
            "other path": sign(secret, ctx, method, f"{path}/elsewhere"),
            "other method": sign(secret, ctx, "GET" if method != "GET" else "DELETE", path),
            "expired": {
                **sign(secret, ctx, method, path),
                H_TIMESTAMP: str(int(time.time()) - MAX_SKEW_SECONDS - 5),
            },
            "unknown role": {**good, H_ROLE: "root"},
        }
        async with direct(embedded_api, service) as client:
            for label, headers in attempts.items():
                response = await client.request(method, path, headers=headers, json={})
                body = response.json()
                if response.status_code != 401 or body.get("status") != 401:
                    failures.append(
                        f"{service} {method} {template} ({label}): "
                        f"{response.status_code} {response.text[:200]}"
                    )
            # The same call signed by the gateway's secret gets past the check.
            response = await client.request(method, path, headers=good, json={})
            if response.status_code == 401:
                failures.append(f"{service} {method} {template}: refused a good signature")
    assert not failures, "\n".join(failures)


async def test_every_service_route_is_routed_by_the_gateway(embedded_api: EmbeddedApi) -> None:
    """A service's /v1 route the routing table does not send to that service is unreachable;
    the routing table and the services must agree. The gateway answers the insights itself,
    merging what each service it asks answers at the same path."""
    merged = {("GET", insights.PATH, service) for service in insights.SERVICES}
    stray = []
    for service, method, template in service_routes(embedded_api):
        route = route_of_template(method, template)
        if route is not None and route.service == GATEWAY and (method, template, service) in merged:
            continue
        if route is None or route.service != service:
            stray.append(
                f"{service}: {method} {template} -> {route.service if route else 'not routed'}"
            )
    assert not stray, "\n".join(stray)


async def test_the_routing_table_sends_nothing_to_the_gateway_that_it_does_not_serve(
    embedded_api: EmbeddedApi,
) -> None:
    own = {
        (m, r.path or "")
        for r in iter_route_contexts(embedded_api.system.app.routes)
        if isinstance(r.original_route, APIRoute) and r.include_in_schema
        for m in r.methods or ()
        if (r.path or "").startswith("/v1/")
    }
    assert len(own) >= 4, own
    for method, template in own:
        route = route_of_template(method, template)
        assert route is not None and route.service == GATEWAY, (method, template)


async def test_the_gateway_forwards_a_signature_the_service_accepts(
    embedded_api: EmbeddedApi,
) -> None:
    """The signed headers the services see come from the gateway, never from the client."""
    seen: list[httpx.Headers] = []
    client = embedded_api.system.gateway.upstreams.clients["mapping"]

    async def spy(request: httpx.Request) -> None:
        seen.append(request.headers)

    client.event_hooks["request"].append(spy)
    forged = {
        H_TENANT: "another-tenant",
        H_ROLE: "admin",
        H_KEY: "k",
        H_SIGNATURE: "f" * 64,
        H_TIMESTAMP: str(int(time.time())),
    }
    response = await embedded_api.client.get("/v1/companies", headers=forged)
    assert response.status_code == 200, response.text
    assert len(seen) == 1
    assert seen[0][H_TENANT] == embedded_api.tenant_id
    assert seen[0][H_ROLE] == "admin"
    assert seen[0][H_SIGNATURE] != "f" * 64
