"""The AsyncAPI 3 document of the public events: one channel (Kafka topic) per event type,
one message per version, payloads from the same schemas as ``schemas/``."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from shared.event_contract.schemas import envelope_schema, public_events, schema_name
from shared.events import Event, topic_for

ASYNCAPI_VERSION = "3.0.0"


def asyncapi_document(
    topic_prefix: str,
    api_version: str = "1.0.0",
    events: Sequence[type[Event]] | None = None,
) -> dict[str, Any]:
    """``events``: the public events unless given."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for cls in public_events() if events is None else events:
        name = _component(schema_name(cls.TYPE, cls.VERSION))
        schemas.update(_hoisted(name, envelope_schema(cls)))
        messages[name] = {
            "name": cls.TYPE,
            "title": f"{cls.TYPE} v{cls.VERSION}",
            "summary": (cls.__doc__ or cls.TYPE).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
        channel = _component(cls.TYPE)
        channels[channel] = {
            "address": topic_for(topic_prefix, cls.TYPE),
            "description": f"Kafka topic of {cls.TYPE}; keyed by tenant id. Webhooks "
            "subscribed to the type receive the same envelope.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"receive.{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Integrated Customer Billing: events",
            "version": api_version,
            "description": "The public events for downstream accounting. Every event is an "
            "envelope {id, type, version, tenant_id, occurred_at, data}; a breaking change "
            "is a new version, never an edit.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _component(name: str) -> str:
    """Component keys allow letters, digits, ``.``, ``-`` and ``_`` only."""
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in name)


def _hoisted(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The envelope and its ``$defs`` as components, references rewritten to them."""
    schema = copy.deepcopy(schema)
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema.pop("$id", None)  # its own base URI would break the document-relative references
    prefix = f"{name}.".replace("#", "")
    text = json.dumps({"root": schema, "defs": defs})
    text = text.replace('"#/$defs/', f'"#/components/schemas/{prefix}')
    moved = json.loads(text)
    return {name: moved["root"], **{prefix + k: v for k, v in moved["defs"].items()}}
