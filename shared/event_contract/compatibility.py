"""Whether a new schema of the same event version still accepts what consumers were promised.

Additive changes pass: a new optional property, a looser constraint, a new description. A
change that can break a consumer reading old or new events needs a new version: a property
removed, newly required, its type or constant changed, an enum narrowed.
"""

from __future__ import annotations

from typing import Any

_SCALAR_KEYS = ("const", "format", "pattern", "$ref")


def breaking_changes(old: dict[str, Any], new: dict[str, Any], at: str = "") -> list[str]:
    """The breaking differences from ``old`` to ``new``, as JSON-pointer-like paths."""
    found: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and not new_types >= old_types:
        found.append(f"{at or '/'}: type {sorted(old_types)} became {sorted(new_types)}")
    for key in _SCALAR_KEYS:
        if key in old and old.get(key) != new.get(key):
            found.append(f"{at or '/'}: {key} {old[key]!r} became {new.get(key)!r}")
    if "enum" in old and not set(map(repr, new.get("enum", []))) >= set(map(repr, old["enum"])):
        found.append(f"{at or '/'}: enum narrowed to {new.get('enum')!r}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        found.append(f"{at}/{name}: newly required")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            found.append(f"{at}/{name}: removed")
        else:
            found += breaking_changes(sub, new_props[name], f"{at}/{name}")
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        found += breaking_changes(old["items"], new["items"], f"{at}/items")
    for name, sub in old.get("$defs", {}).items():
        if name in new.get("$defs", {}):
            found += breaking_changes(sub, new["$defs"][name], f"{at}/$defs/{name}")
    for combinator in ("anyOf", "oneOf"):
        if combinator in old and len(new.get(combinator, [])) < len(old[combinator]):
            found.append(f"{at or '/'}: {combinator} lost alternatives")
    return found


def _types(schema: dict[str, Any]) -> set[str]:
    value = schema.get("type")
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)
