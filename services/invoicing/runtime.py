"""Invoicing's runtime: the event flow's parts, the client that reads companies from mapping
when their event has not arrived yet, and the billing-run jobs with their process pool."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from services.invoicing import models
from services.invoicing.runs.jobs import BillingRuns
from services.invoicing.settings import InvoicingSettings
from services.invoicing.webhooks.deliverer import Deliverer
from services.invoicing.webhooks.sender import Sender
from shared.bus import Bus
from shared.runtime import EventRuntime
from shared.service_client import ServiceClient

NAME = "invoicing"


class InvoicingRuntime(EventRuntime):
    settings: InvoicingSettings

    def __init__(
        self, settings: InvoicingSettings, engine: AsyncEngine, bus: Bus, mapping: ServiceClient
    ) -> None:
        super().__init__(NAME, settings, engine, bus, models.outbox, models.inbox)
        self.mapping = mapping
        self.billing_runs = BillingRuns(self, settings)
        self.webhooks = Deliverer(
            self.sessions,
            Sender(settings.webhook_allow_private, settings.webhook_timeout_seconds),
            endpoint_concurrency=settings.webhook_endpoint_concurrency,
            lease=timedelta(seconds=settings.webhook_timeout_seconds + 50),
            poll_seconds=settings.webhook_poll_seconds,
            outbox=self.outbox,
        )
