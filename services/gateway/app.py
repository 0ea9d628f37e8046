"""Gateway: the one public door. Authenticates keys, enforces roles, forwards signed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway import models
from services.gateway.api import UPSTREAMS, VERIFIER, router
from services.gateway.keys import KeyVerifier
from services.gateway.proxy import Upstreams
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

NAME = "gateway"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(
    settings: Settings, engine: AsyncEngine, bus: Bus,
    clients: dict[str, httpx.AsyncClient] | None = None,
) -> ServiceRuntime:
    runtime = ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)
    timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=5.0)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    runtime.extras[UPSTREAMS] = Upstreams(
        clients or {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)
            for name, url in (("ingest", settings.ingest_url), ("mapping", settings.mapping_url),
                              ("invoicing", settings.invoicing_url))
        },
        settings.internal_secret,
    )
    runtime.extras[VERIFIER] = KeyVerifier()
    return runtime


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    upstreams: Upstreams = runtime.extras[UPSTREAMS]
    return create_service_app(
        "Integrated Customer Billing", runtime, [router], manage_runtime=manage_runtime,
        extra_checks=upstreams.healthy,
    )
