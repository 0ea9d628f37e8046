"""Ingest: the front door for usage, pushed or pulled daily from the modules' APIs. Stores
every record, publishes ``usage.recorded``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest import models
from services.ingest.api import routers
from services.ingest.runtime import IngestRuntime
from services.ingest.settings import IngestSettings
from shared.app import create_service_app
from shared.bus import Bus

SETTINGS = IngestSettings
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(settings: IngestSettings, engine: AsyncEngine, bus: Bus) -> IngestRuntime:
    runtime = IngestRuntime(settings, engine, bus)
    runtime.background.append(runtime.syncer.run)
    return runtime


def create_app(runtime: IngestRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: ingest", runtime, routers, manage_runtime=manage_runtime
    )
