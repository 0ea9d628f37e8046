"""JSON Schemas of the event envelopes, one per type and version, from the pydantic models.

The schema describes the envelope as it travels (section 8: ``{id, type, version, tenant_id,
occurred_at, data}``) with ``data`` in its serialised form: decimals as strings, dates ISO.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events import EVENT_TYPES, Event

SCHEMA_DIR = Path(__file__).parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


def public_events() -> list[type[Event]]:
    return [cls for cls in EVENT_TYPES.values() if cls.PUBLIC]


def envelope_schema(cls: type[Event]) -> dict[str, Any]:
    """The envelope of ``cls``'s current version; the data's ``$defs`` move to the top so
    that every ``$ref`` resolves against the document root."""
    data = cls.model_json_schema(mode="serialization")
    defs = data.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:icb:event:{schema_name(cls.TYPE, cls.VERSION)}",
        "title": f"{cls.TYPE} v{cls.VERSION}",
        "description": (cls.__doc__ or f"The {cls.TYPE} event.").strip(),
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Unique per event."},
            "type": {"const": cls.TYPE},
            "version": {"const": cls.VERSION},
            "tenant_id": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "data": data,
        },
        "required": ["id", "type", "version", "tenant_id", "occurred_at", "data"],
    }
    if defs:
        schema["$defs"] = defs
    return schema


def schema_file(event_type: str, version: int) -> Path:
    return SCHEMA_DIR / f"{schema_name(event_type, version)}.json"


def committed_schema(event_type: str, version: int) -> dict[str, Any] | None:
    path = schema_file(event_type, version)
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
