"""Mapping's runtime: the event flow's parts and the queue of orgs awaiting re-resolution."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.mapping import models
from services.mapping.resolution.reresolution import ResolutionQueue
from services.mapping.settings import MappingSettings
from shared.bus import Bus
from shared.runtime import EventRuntime

NAME = "mapping"


class MappingRuntime(EventRuntime):
    settings: MappingSettings

    def __init__(self, settings: MappingSettings, engine: AsyncEngine, bus: Bus) -> None:
        super().__init__(NAME, settings, engine, bus, models.outbox, models.inbox)
        self.resolution_queue = ResolutionQueue.of(
            self, wait_seconds=settings.reresolution_wait_seconds
        )
