"""Ingest's runtime: the event flow's parts and the daily pull's scheduler."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest import models
from services.ingest.settings import IngestSettings
from services.ingest.sync.credentials import cipher_from_settings
from services.ingest.sync.runner import Syncer
from shared.bus import Bus
from shared.runtime import EventRuntime

NAME = "ingest"


class IngestRuntime(EventRuntime):
    settings: IngestSettings

    def __init__(self, settings: IngestSettings, engine: AsyncEngine, bus: Bus) -> None:
        super().__init__(NAME, settings, engine, bus, models.outbox, models.inbox)
        self.syncer = Syncer(self, settings, cipher_from_settings(settings))
