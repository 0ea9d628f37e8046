"""Mapping: module orgs to companies, metrics to services; publishes ``usage.resolved``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.mapping import consumer, models
from services.mapping.api import routers
from services.mapping.runtime import MappingRuntime
from services.mapping.settings import MappingSettings
from shared.app import create_service_app
from shared.bus import Bus

SETTINGS = MappingSettings
SCHEMA_NAME = models.SCHEMA
metadata = models.Base.metadata


def build_runtime(settings: MappingSettings, engine: AsyncEngine, bus: Bus) -> MappingRuntime:
    runtime = MappingRuntime(settings, engine, bus)
    consumer.register(runtime)
    runtime.background.append(runtime.resolution_queue.run)
    return runtime


def create_app(runtime: MappingRuntime, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        "Integrated Customer Billing: mapping", runtime, routers, manage_runtime=manage_runtime
    )
