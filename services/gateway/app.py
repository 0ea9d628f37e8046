"""Gateway: the one public door. Authenticates keys, enforces roles and limits, forwards
signed, records every write, and describes the whole public API in one document."""

from __future__ import annotations

from importlib import metadata as package_metadata
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway import models
from services.gateway.api import OPENAPI, RATE_LIMITER, UPSTREAMS, VERIFIER, router
from services.gateway.audit import AuditTrail
from services.gateway.keys import KeyVerifier
from services.gateway.limits import BodyLimit, RateLimiter
from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import Upstreams
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

NAME = "gateway"
TITLE = "Integrated Customer Billing"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata
UPSTREAM_SERVICES = ("ingest", "mapping", "invoicing")


def _version() -> str:
    try:
        return package_metadata.version("integrated-customer-billing")
    except package_metadata.PackageNotFoundError:
        return "0.0.0"


def build_runtime(
    settings: Settings,
    engine: AsyncEngine,
    bus: Bus,
    clients: dict[str, httpx.AsyncClient] | None = None,
) -> ServiceRuntime:
    runtime = ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)
    timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=5.0)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    urls = {
        "ingest": settings.ingest_url,
        "mapping": settings.mapping_url,
        "invoicing": settings.invoicing_url,
    }
    runtime.extras[UPSTREAMS] = Upstreams(
        clients
        or {
            name: httpx.AsyncClient(base_url=urls[name], timeout=timeout, limits=limits)
            for name in UPSTREAM_SERVICES
        },
        settings.internal_secret,
    )
    runtime.extras[VERIFIER] = KeyVerifier()
    runtime.extras[RATE_LIMITER] = RateLimiter(
        settings.rate_limit_per_second, settings.rate_limit_burst
    )
    return runtime


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    upstreams: Upstreams = runtime.extras[UPSTREAMS]
    app = create_service_app(
        TITLE,
        runtime,
        [router],
        manage_runtime=manage_runtime,
        extra_checks=upstreams.healthy,
        openapi_url=None,
    )
    version = _version()

    def own_document() -> dict[str, Any]:
        return get_openapi(title=TITLE, version=version, routes=app.routes)

    runtime.extras[OPENAPI] = OpenApiAggregator(upstreams.clients, own_document, TITLE, version)
    # Outermost first: bodies are bounded before anything reads them; the audit sees every
    # answer, refusals included.
    app.add_middleware(AuditTrail, runtime=runtime)
    app.add_middleware(BodyLimit, limit=runtime.settings.max_body_bytes)
    return app
