"""Invoicing: keeps the unit table from ``usage.resolved`` and bills it against contracts."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.invoicing import consumer, tables
from services.invoicing.api import routers
from services.invoicing.runtime import InvoicingRuntime
from services.invoicing.settings import InvoicingSettings
from shared.app import create_service_app
from shared.bus import Bus
from shared.service_client import ServiceClient

SETTINGS = InvoicingSettings
SCHEMA_NAME = tables.SCHEMA
metadata = tables.metadata


def build_runtime(
    settings: InvoicingSettings,
    engine: AsyncEngine,
    bus: Bus,
    mapping: ServiceClient | None = None,
) -> InvoicingRuntime:
    """``mapping`` stands in for the HTTP client of ``ICB_MAPPING_URL`` (the embedded system
    passes one over an in-process transport)."""
    client = mapping or ServiceClient(settings.mapping_url, settings.internal_secret)
    runtime = InvoicingRuntime(settings, engine, bus, client)
    consumer.register(runtime)
    consumer.register_webhooks(runtime, runtime.webhooks)
    # Billing runs: durable jobs worked in the background, CPU work in one process pool.
    runtime.background += [
        runtime.billing_runs.pool.serve,
        runtime.billing_runs.worker.run,
        runtime.webhooks.run,
    ]
    return runtime


def create_app(runtime: InvoicingRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: invoicing", runtime, routers, manage_runtime=manage_runtime
    )
