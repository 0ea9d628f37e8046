"""Mapping: module orgs to companies, metrics to services; publishes ``usage.resolved``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.mapping import consumer, models
from services.mapping.api import routers
from services.mapping.resolution import reresolution
from shared.app import create_service_app
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

NAME = "mapping"
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(settings: Settings, engine: AsyncEngine, bus: Bus) -> ServiceRuntime:
    runtime = ServiceRuntime(NAME, settings, engine, bus, metadata, models.outbox, models.inbox)
    consumer.register(runtime)
    reresolution.install(runtime)
    return runtime


def create_app(runtime: ServiceRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: mapping", runtime, routers, manage_runtime=manage_runtime
    )
