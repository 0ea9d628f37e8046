"""Ingest: the front door for usage, pushed or pulled daily from the modules' APIs. Stores
every record, publishes ``usage.recorded``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest import models
from services.ingest.api import routers
from services.ingest.sync.credentials import cipher_from_settings
from services.ingest.sync.runner import SYNCER, Syncer
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

NAME = "ingest"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(settings: Settings, engine: AsyncEngine, bus: Bus) -> ServiceRuntime:
    runtime = ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)
    syncer = Syncer(runtime, cipher_from_settings(settings))
    runtime.extras[SYNCER] = syncer
    runtime.background.append(syncer.run)
    return runtime


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: ingest", runtime, routers, manage_runtime=manage_runtime
    )
