"""The four services, in the order of the flow: ingest -> mapping -> invoicing, and the
gateway in front of them. Each module has ``SETTINGS`` (its settings class),
``SCHEMA_NAME``, ``metadata``, ``build_runtime`` and ``create_app``; the gateway's
``build_runtime`` takes no bus (it publishes and consumes nothing)."""

from __future__ import annotations

from types import ModuleType

from services.gateway import app as gateway
from services.ingest import app as ingest
from services.invoicing import app as invoicing
from services.mapping import app as mapping

SERVICES: dict[str, ModuleType] = {
    "ingest": ingest,
    "mapping": mapping,
    "invoicing": invoicing,
    "gateway": gateway,
}
EVENT_SERVICES = ("ingest", "mapping", "invoicing")
