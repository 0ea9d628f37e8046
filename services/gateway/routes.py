"""The public API's routing table: which service owns a path and which roles may call it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.context import Role

READ: frozenset[Role] = frozenset({"admin", "billing", "viewer"})
WRITE: frozenset[Role] = frozenset({"admin", "billing"})
INGEST: frozenset[Role] = frozenset({"admin", "ingest"})
ADMIN: frozenset[Role] = frozenset({"admin"})

SEG = "[^/]+"


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    service: str
    roles: frozenset[Role]


def _route(methods: str, path: str, service: str, roles: frozenset[Role]) -> Route:
    return Route(frozenset(methods.split("|")), re.compile(f"^{path}$"), service, roles)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/v1/usage", "ingest", INGEST),
    _route("GET", "/v1/usage", "invoicing", READ),
    _route("GET", "/v1/modules", "ingest", READ),
    _route("PUT", f"/v1/modules/{SEG}/billing", "ingest", WRITE),
    _route("POST", "/v1/companies", "mapping", WRITE),
    _route("GET", "/v1/companies", "mapping", READ),
    _route("GET", f"/v1/companies/{SEG}", "mapping", READ),
    _route("PATCH", f"/v1/companies/{SEG}", "mapping", WRITE),
    _route("GET", f"/v1/companies/{SEG}/module-orgs", "mapping", READ),
    _route("PUT|DELETE", f"/v1/companies/{SEG}/service-mappings/{SEG}/{SEG}", "mapping", WRITE),
    _route("GET", "/v1/module-orgs", "mapping", READ),
    _route("POST", "/v1/module-orgs/auto-map", "mapping", WRITE),
    _route("PUT|DELETE", f"/v1/module-orgs/{SEG}/{SEG}/mapping", "mapping", WRITE),
    _route("GET", "/v1/service-mappings", "mapping", READ),
    _route("PUT|DELETE", f"/v1/service-mappings/{SEG}/{SEG}", "mapping", WRITE),
    _route("GET", "/v1/insights", "mapping", READ),
    _route("POST", "/v1/contracts", "invoicing", WRITE),
    _route("GET", "/v1/contracts", "invoicing", READ),
    _route("GET", f"/v1/contracts/{SEG}", "invoicing", READ),
    _route("PATCH", f"/v1/contracts/{SEG}", "invoicing", WRITE),
    _route("POST", "/v1/billing-runs", "invoicing", WRITE),
    _route("GET", "/v1/invoices", "invoicing", READ),
    _route("GET", f"/v1/invoices/{SEG}", "invoicing", READ),
    _route("GET", f"/v1/invoices/{SEG}/lines/{SEG}/explain", "invoicing", READ),
    _route("POST", f"/v1/invoices/{SEG}/post", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/void", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/payments", "invoicing", WRITE),
    _route("GET", f"/v1/invoices/{SEG}/payments", "invoicing", READ),
)


def match(method: str, path: str) -> tuple[Route | None, bool]:
    """The route for the request, and whether the path exists at all (for 404 vs 405)."""
    path_known = False
    for route in ROUTES:
        if route.pattern.match(path):
            path_known = True
            if method in route.methods:
                return route, True
    return None, path_known
