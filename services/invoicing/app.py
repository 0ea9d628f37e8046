"""Invoicing: keeps the unit table from ``usage.resolved`` and bills it against contracts."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.invoicing import consumer, models
from services.invoicing.api import routers
from services.invoicing.contracts.companies import MAPPING_CLIENT
from services.invoicing.runs import jobs as billing_runs
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.service_client import ServiceClient
from shared.settings import Settings

NAME = "invoicing"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(
    settings: Settings, engine: AsyncEngine, bus: Bus, mapping: ServiceClient | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)
    runtime.extras[MAPPING_CLIENT] = mapping or ServiceClient(
        settings.mapping_url, settings.internal_secret
    )
    consumer.register(runtime)
    # Billing runs: durable jobs worked in the background, CPU work in one process pool.
    runs = runtime.extras[billing_runs.BILLING_RUNS] = billing_runs.BillingRuns(runtime)
    runtime.background += [runs.pool.serve, runs.worker.run]
    return runtime


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: invoicing", runtime, routers, manage_runtime=manage_runtime
    )
