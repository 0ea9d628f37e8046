"""The public API's routing table: which service owns a path and which roles may call it.

It is the one place roles are decided, for the gateway's own endpoints too (service
``gateway``); the aggregated OpenAPI document shows only what is routed here. Everything under
``/v1`` needs a key; the paths of :data:`PUBLIC_PATHS` (outside ``/v1``) need none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.context import Role
from shared.problems import TYPE_BASE

READ = frozenset({Role.ADMIN, Role.BILLING, Role.VIEWER})
WRITE = frozenset({Role.ADMIN, Role.BILLING})
INGEST = frozenset({Role.ADMIN, Role.INGEST})
ADMIN = frozenset({Role.ADMIN})

SEG = "[^/]+"
GATEWAY = "gateway"
_TEMPLATE_PARAM = re.compile(r"\{[^/{}]+\}")

# Public: the API's description, its viewers' assets and the pages problem types point to.
OPENAPI_PATH = "/openapi.json"
ASYNCAPI_PATH = "/asyncapi.json"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
DOCS_ASSETS_PATH = "/docs/assets"
PROBLEMS_PATH = TYPE_BASE
PUBLIC_PATHS = (
    OPENAPI_PATH,
    ASYNCAPI_PATH,
    DOCS_PATH,
    REDOC_PATH,
    DOCS_ASSETS_PATH + "/",
    PROBLEMS_PATH,
)


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    service: str
    roles: frozenset[Role]


def _route(methods: str, path: str, service: str, roles: frozenset[Role]) -> Route:
    return Route(frozenset(methods.split("|")), re.compile(f"^{path}$"), service, roles)


ROUTES: tuple[Route, ...] = (
    _route("POST|GET", "/v1/api-keys", GATEWAY, ADMIN),
    _route("GET", "/v1/api-keys/current", GATEWAY, READ | INGEST),
    _route("DELETE", f"/v1/api-keys/{SEG}", GATEWAY, ADMIN),
    _route("GET", "/v1/audit", GATEWAY, ADMIN),
    _route("POST", "/v1/usage", "ingest", INGEST),
    _route("GET", "/v1/usage", "invoicing", READ),
    _route("GET", "/v1/usage/daily-totals", "invoicing", READ),
    _route("GET", "/v1/modules", "ingest", READ),
    _route("PUT", f"/v1/modules/{SEG}/billing", "ingest", WRITE),
    _route("GET", f"/v1/modules/{SEG}/connection", "ingest", READ),
    _route("PUT|DELETE", f"/v1/modules/{SEG}/connection", "ingest", ADMIN),
    _route("POST", f"/v1/modules/{SEG}/connection/test", "ingest", ADMIN),
    _route("POST", f"/v1/modules/{SEG}/sync", "ingest", WRITE | INGEST),
    _route("GET", f"/v1/modules/{SEG}/syncs", "ingest", READ),
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
    _route("GET", "/v1/insights", GATEWAY, READ),
    _route("POST", "/v1/contracts", "invoicing", WRITE),
    _route("GET", "/v1/contracts", "invoicing", READ),
    _route("GET", f"/v1/contracts/{SEG}", "invoicing", READ),
    _route("PATCH", f"/v1/contracts/{SEG}", "invoicing", WRITE),
    _route("POST", f"/v1/contracts/{SEG}/amendments", "invoicing", WRITE),
    _route("POST", "/v1/billing-runs", "invoicing", WRITE),
    _route("GET", "/v1/billing-runs", "invoicing", READ),
    _route("GET", f"/v1/billing-runs/{SEG}", "invoicing", READ),
    _route("GET", "/v1/invoices", "invoicing", READ),
    _route("GET", f"/v1/invoices/{SEG}", "invoicing", READ),
    _route("GET", f"/v1/invoices/{SEG}/lines/{SEG}/explain", "invoicing", READ),
    _route("POST", f"/v1/invoices/{SEG}/post", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/void", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/payments", "invoicing", WRITE),
    _route("GET", f"/v1/invoices/{SEG}/payments", "invoicing", READ),
    _route("POST", f"/v1/invoices/{SEG}/payments/{SEG}/reversal", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/applications", "invoicing", WRITE),
    _route("POST", f"/v1/invoices/{SEG}/refunds", "invoicing", WRITE),
    _route("GET", "/v1/receivables/aging", "invoicing", READ),
    _route("POST", "/v1/companies/import", "mapping", WRITE),
    _route("GET", "/v1/mapping-audit", "mapping", READ),
    _route("GET", "/v1/invoice-exports", "invoicing", READ),
    _route("GET", "/v1/seller-profile", "invoicing", READ),
    _route("PUT", "/v1/seller-profile", "invoicing", WRITE),
    _route("POST|GET", "/v1/webhooks", "invoicing", ADMIN),
    _route("DELETE", f"/v1/webhooks/{SEG}", "invoicing", ADMIN),
    _route("POST", f"/v1/webhooks/{SEG}/secret-rotation", "invoicing", ADMIN),
    _route("GET", f"/v1/webhooks/{SEG}/deliveries", "invoicing", ADMIN),
    _route("POST", f"/v1/webhooks/{SEG}/deliveries/{SEG}/retry", "invoicing", ADMIN),
    _route("GET", "/v1/accounting/settings", "invoicing", READ),
    _route("PUT", "/v1/accounting/settings", "invoicing", WRITE),
    _route("GET", "/v1/exports/datev", "invoicing", READ),
    _route("GET", "/v1/exports/xero", "invoicing", READ),
    _route("GET", "/v1/exports/quickbooks", "invoicing", READ),
    _route("POST", f"/v1/invoices/{SEG}/release", "invoicing", WRITE),
    _route("GET|PATCH", "/v1/settings", "invoicing", ADMIN),
    _route("POST", "/v1/vendor-bills", "invoicing", WRITE),
    _route("GET", "/v1/vendor-bills", "invoicing", READ),
    _route("GET", "/v1/reconciliation", "invoicing", READ),
    _route("GET", "/v1/reports/margin", "invoicing", READ),
)


def match(method: str, path: str) -> tuple[Route | None, bool]:
    """The route for the request, and whether the path exists at all (for 404 vs 405)."""
    path_known = False
    for route in ROUTES:
        if route.pattern.fullmatch(path):
            path_known = True
            if method in route.methods:
                return route, True
    return None, path_known


def template_of(route: Route) -> str:
    """The route's path as a template (``/v1/companies/{}``): a metric label, never a raw path."""
    return route.pattern.pattern.removeprefix("^").removesuffix("$").replace(SEG, "{}")


def route_of_template(method: str, template: str) -> Route | None:
    """The route serving an OpenAPI path template such as ``/v1/companies/{company_id}``."""
    route, _ = match(method.upper(), _TEMPLATE_PARAM.sub("{param}", template))
    return route
