"""Gateway: the one public door. Authenticates keys, enforces roles and limits, forwards
signed, records every write, and describes the whole public API in one document."""

from __future__ import annotations

from importlib import metadata as package_metadata
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine

from services import console
from services.gateway import models
from services.gateway.api import docs, router
from services.gateway.audit import AuditTrail
from services.gateway.limits import BodyLimit
from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import Upstreams
from services.gateway.runtime import GatewayRuntime
from services.gateway.settings import GatewaySettings
from shared.app import create_service_app
from shared.observability.tracing import instrument_client

SETTINGS = GatewaySettings
TITLE = docs.TITLE
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata
UPSTREAM_SERVICES = ("ingest", "mapping", "invoicing")


def _version() -> str:
    try:
        return package_metadata.version("integrated-customer-billing")
    except package_metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = _version()


def own_document() -> dict[str, Any]:
    """The gateway's own endpoints (keys, audit), merged with the services' documents."""
    return get_openapi(title=TITLE, version=VERSION, routes=router.routes)


def build_runtime(
    settings: GatewaySettings,
    engine: AsyncEngine,
    clients: dict[str, httpx.AsyncClient] | None = None,
) -> GatewayRuntime:
    """``clients`` stand in for the HTTP clients of ``ICB_<SERVICE>_URL`` (the embedded
    system passes in-process ones)."""
    if clients is None:
        timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=5.0)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        urls = {
            "ingest": settings.ingest_url,
            "mapping": settings.mapping_url,
            "invoicing": settings.invoicing_url,
        }
        clients = {
            name: httpx.AsyncClient(base_url=urls[name], timeout=timeout, limits=limits)
            for name in UPSTREAM_SERVICES
        }
    for client in clients.values():
        instrument_client(client)
    upstreams = Upstreams(clients, settings.internal_secret)
    openapi = OpenApiAggregator(upstreams.clients, own_document, TITLE, VERSION)
    return GatewayRuntime(settings, engine, upstreams, openapi)


def create_app(runtime: GatewayRuntime, *, manage_runtime: bool = True) -> FastAPI:
    app = create_service_app(
        TITLE, runtime, [router], manage_runtime=manage_runtime, openapi_url=None
    )
    # Outermost first: bodies are bounded before anything reads them; the audit sees every
    # answer, refusals included.
    app.add_middleware(AuditTrail, runtime=runtime)
    app.add_middleware(BodyLimit, limit=runtime.settings.max_body_bytes)
    docs.mount_assets(app)
    console.install(app, runtime.settings)
    return app
