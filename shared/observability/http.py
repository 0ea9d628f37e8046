"""What every service's HTTP shell adds: the metrics of each answered request (by route
template, never the raw path), the tenant on log lines, ``/metrics`` and server spans."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.routing import BaseRoute

from shared.observability import metrics, tracing
from shared.observability.context import tenant_id_var

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a raw path would explode the series)."""


def name_route(request: Request, template: str) -> None:
    """Labels the request with ``template`` rather than the route that matched it (the
    gateway's catch-all forwards every service's paths)."""
    request.state.route_template = template


def route_template(request: Request) -> str:
    named = getattr(request.state, "route_template", None)
    if isinstance(named, str):
        return named
    route: BaseRoute | None = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def observe(service: str, request: Request, status: int, seconds: float) -> None:
    route = route_template(request)
    metrics.HTTP_REQUESTS.labels(service, request.method, route, str(status)).inc()
    metrics.HTTP_DURATION.labels(service, request.method, route).observe(seconds)


def bind_tenant(request: Request, tenant_id: str) -> None:
    """Puts the caller's tenant on the log lines of the rest of the request (the access
    line included, which is written outside the task that authenticated)."""
    request.state.tenant_id = tenant_id
    tenant_id_var.set(tenant_id)


def bound_tenant(request: Request) -> str | None:
    tenant = getattr(request.state, "tenant_id", None)
    return tenant if isinstance(tenant, str) else None


def install(app: FastAPI) -> None:
    """``GET /metrics`` (outside the API and its keys) and server spans."""

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = await metrics.exposition()
        return Response(body, media_type=content_type)

    tracing.instrument_app(app)
