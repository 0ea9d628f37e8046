"""Ingest: the front door for usage. Stores every record, publishes ``usage.recorded``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest import models
from services.ingest.api import router
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

NAME = "ingest"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(settings: Settings, engine: AsyncEngine, bus: Bus) -> ServiceRuntime:
    return ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: ingest", runtime, [router], manage_runtime=manage_runtime
    )
