"""The event contract: a committed JSON Schema for every event type's current version, equal
to what the models generate; a breaking change to a committed version fails here (a new
``VERSION`` is the way); the AsyncAPI 3 document of the public events is self-contained."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from shared.event_contract import (
    SCHEMA_DIR,
    asyncapi_document,
    breaking_changes,
    committed_schema,
    envelope_schema,
    public_events,
    schema_name,
)
from shared.events import (
    EVENT_TYPES,
    Envelope,
    Event,
    InvoicePosted,
    ModuleSynced,
    ResolvedUsage,
    UsageRecord,
    UsageRecorded,
    UsageResolved,
)

REGENERATE = "run `python -m shared.event_contract` and commit shared/event_contract/schemas"


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=list(EVENT_TYPES))
def test_every_event_type_has_its_committed_schema(cls: type[Event]) -> None:
    committed = committed_schema(cls.TYPE, cls.VERSION)
    assert committed is not None, f"no schema for {cls.TYPE} v{cls.VERSION}: {REGENERATE}"
    assert not breaking_changes(committed, envelope_schema(cls)), (
        f"{cls.TYPE} v{cls.VERSION} changed in a breaking way: raise its VERSION instead"
    )
    assert committed == envelope_schema(cls), f"{cls.TYPE}: schema out of date; {REGENERATE}"
    jsonschema.Draft202012Validator.check_schema(committed)


def test_every_committed_schema_names_a_known_type() -> None:
    """Old versions stay (consumers may still read them); unknown types do not."""
    for path in SCHEMA_DIR.glob("*.json"):
        event_type, _, version = path.stem.rpartition(".v")
        assert event_type in EVENT_TYPES, path.name
        assert int(version) <= EVENT_TYPES[event_type].VERSION, path.name


SAMPLES: list[Event] = [
    UsageRecorded(
        records=(UsageRecord(module="datto_rmm", org_id="o1", org_name="Org", metric="servers",
                             date=date(2026, 3, 1), quantity=Decimal("4"), revision=1),)
    ),
    UsageResolved(
        records=(ResolvedUsage(module="datto_rmm", org_id="o1", metric="servers",
                               date=date(2026, 3, 1), quantity=Decimal("4.5"), version=2,
                               status="mapped", company_id="c1", service_codes=("RMM",)),)
    ),
    ModuleSynced(module="datto_rmm", date=date(2026, 3, 1), trigger="manual", outcome="failed",
                 error="timeout"),
    InvoicePosted(
        invoice={"id": "i1", "number": 7, "kind": "invoice", "company_id": "c1",
                 "period": "2026-03", "currency": "EUR", "status": "posted",
                 "lines": [{"id": "l1", "service_code": "RMM", "quantity": "4.0000",
                            "unit_price": "12.50", "amount": "50.00"}],
                 "subtotal": "50.00", "tax": "9.50", "total": "59.50", "balance": "59.50"}
    ),
]  # fmt: skip


@pytest.mark.parametrize("event", SAMPLES, ids=[e.TYPE for e in SAMPLES])
def test_published_envelopes_validate_against_their_schema(event: Event) -> None:
    envelope = json.loads(Envelope.wrap("tenant-1", event).model_dump_json())
    schema = committed_schema(event.TYPE, event.VERSION)
    assert schema is not None
    jsonschema.validate(envelope, schema)
    wrong = {**envelope, "data": {**envelope["data"]}}
    first = next(iter(wrong["data"]))
    wrong["data"][first] = {"not": "this"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


BASE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "amount": {"type": "string", "pattern": "^\\d+$"},
        "kind": {"enum": ["a", "b"]},
        "lines": {"type": "array", "items": {"type": "object",
                  "properties": {"q": {"type": "integer"}}, "required": ["q"]}},
    },
    "required": ["id"],
}  # fmt: skip


def _changed(path: list[str], value: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    node = schema
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return schema


def test_additive_changes_are_compatible() -> None:
    assert breaking_changes(BASE, BASE) == []
    assert breaking_changes(BASE, _changed(["properties", "new"], {"type": "string"})) == []
    assert breaking_changes(BASE, _changed(["properties", "kind", "enum"], ["a", "b", "c"])) == []
    assert breaking_changes(BASE, _changed(["properties", "id", "description"], "x")) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["properties", "id"], None),
        (["required"], ["id", "amount"]),
        (["properties", "id", "type"], "integer"),
        (["properties", "amount", "pattern"], "^\\d+\\.\\d+$"),
        (["properties", "kind", "enum"], ["a"]),
        (["properties", "lines", "items", "properties", "q", "type"], "string"),
        (["properties", "lines", "items", "required"], ["q", "r"]),
    ],
)
def test_breaking_changes_are_found(path: list[str], value: Any) -> None:
    assert breaking_changes(BASE, _changed(path, value))


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_asyncapi_document_describes_every_public_event() -> None:
    document = asyncapi_document("icb.")
    assert document["asyncapi"].startswith("3.")
    public = public_events()
    assert InvoicePosted in public
    assert {c["address"] for c in document["channels"].values()} == {
        f"icb.{cls.TYPE}" for cls in public
    }
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        _resolve(document, ref)
    for cls in public:
        name = schema_name(cls.TYPE, cls.VERSION)
        assert document["components"]["messages"][name]["payload"] == {
            "$ref": f"#/components/schemas/{name}"
        }
    envelope = json.loads(Envelope.wrap("t", SAMPLES[-1]).model_dump_json())
    root = {**document, "$ref": "#/components/schemas/invoice.posted.v1"}
    jsonschema.validate(envelope, root)
    assert not any("$id" in s for s in document["components"]["schemas"].values())


def test_nested_definitions_become_components_that_resolve() -> None:
    document = asyncapi_document("icb.", events=[UsageRecorded])
    schemas = document["components"]["schemas"]
    assert "usage.recorded.v1.UsageRecord" in schemas
    for ref in _refs(document):
        _resolve(document, ref)
    envelope = json.loads(Envelope.wrap("t", SAMPLES[0]).model_dump_json())
    root = {**document, "$ref": "#/components/schemas/usage.recorded.v1"}
    jsonschema.validate(envelope, root)
    envelope["data"]["records"][0]["revision"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(envelope, root)
