"""The event contract with the outside: a JSON Schema per event type and version, generated
from the event models of :mod:`shared.events` and kept in ``schemas/`` (committed, so a change
shows in review and a breaking one fails the compatibility test), and the AsyncAPI 3 document
of the public events built from the same schemas."""

from shared.event_contract.asyncapi import asyncapi_document
from shared.event_contract.compatibility import breaking_changes
from shared.event_contract.schemas import (
    SCHEMA_DIR,
    committed_schema,
    envelope_schema,
    public_events,
    schema_name,
)

__all__ = [
    "SCHEMA_DIR",
    "asyncapi_document",
    "breaking_changes",
    "committed_schema",
    "envelope_schema",
    "public_events",
    "schema_name",
]
