"""What the public API document must say about everything in it, checked in one walk.

:func:`gaps` lists, for a merged document, every operation without a tag, a written summary
(not the one FastAPI derives from the function's name), a description beyond its roles, or
its problem answers; every request body without an example; and every schema property
without a description. A test keeps the list empty, so an endpoint added without its
documentation fails it, with the remedy in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shared.problems import PROBLEM_JSON

PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
# Where each part comes from, said in every gap so that whoever meets it knows the remedy.
HOW = {
    "tag": "add the resource's path prefix to TAGS in services/gateway/openapi_tags.py",
    "summary": "give the route decorator summary='...'",
    "description": "give the endpoint function a docstring",
    "example": "give the body's model json_schema_extra={'examples': [...]} in model_config",
    "property": "give the model ApiModel (shared/openapi_docs.py) as base and the field an "
    "attribute docstring, or Field(description=...)",
    "problem": "answer problems as shared.problems.Problem; the gateway documents them "
    "(services/gateway/openapi.py)",
}
METHODS = ("get", "put", "post", "delete", "patch")
_NON_WORD = re.compile(r"\W")
_ROLES = re.compile(r"\n*Roles: [a-z, ]+\.$")


def _derived_summary(op: dict[str, Any], method: str, path: str) -> str | None:
    """FastAPI's summary for an operation without one: the function's name, title-cased,
    recovered from the operation id it derives the same way (name, path, method)."""
    suffix = _NON_WORD.sub("_", path) + "_" + method
    operation_id = str(op.get("operationId", ""))
    if not operation_id.endswith(suffix) or operation_id == suffix:
        return None
    return operation_id.removesuffix(suffix).replace("_", " ").title()


def _expected_problems(op: dict[str, Any], method: str, path: str) -> set[str]:
    expected = {"401", "403", "429", "503"}
    if "{" in path:
        expected.add("404")
    if op.get("parameters") or "requestBody" in op:
        expected.add("422")
    if method != "get":
        expected.add("409")
    if "requestBody" in op:
        expected.add("400")
    return expected


def _operation_gaps(
    op: dict[str, Any], method: str, path: str, tags: dict[str, str]
) -> Iterator[str]:
    where = f"{method.upper()} {path}"
    if not op.get("tags"):
        yield f"{where}: no tag ({HOW['tag']})"
    for tag in op.get("tags", []):
        if not tags.get(tag):
            yield f"{where}: tag {tag!r} is not described ({HOW['tag']})"
    summary = str(op.get("summary", "")).strip()
    if not summary or summary == _derived_summary(op, method, path):
        yield f"{where}: no summary ({HOW['summary']})"
    if not _ROLES.sub("", str(op.get("description", ""))).strip():
        yield f"{where}: no description ({HOW['description']})"
    responses: dict[str, Any] = op.get("responses", {})
    if not any(status.startswith("2") for status in responses):
        yield f"{where}: no success answer"
    if path.startswith("/v1/"):  # outside, only the health probes: they answer no problems
        for status in sorted(_expected_problems(op, method, path) - set(responses)):
            yield f"{where}: problem {status} not documented ({HOW['problem']})"
        for status, response in responses.items():
            problem = response.get("content") == {PROBLEM_JSON: PROBLEM}
            if status.startswith(("4", "5")) and not problem:
                yield f"{where}: answer {status} is not the problem schema ({HOW['problem']})"
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        if "example" not in media and not media.get("examples"):
            yield f"{where}: request body {media_type} has no example ({HOW['example']})"


def _property_gaps(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _property_gaps(item, where)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, schema in properties.items():
            if not isinstance(schema, dict) or not str(schema.get("description", "")).strip():
                yield f"{where}: property {name!r} has no description ({HOW['property']})"
            yield from _property_gaps(schema, f"{where}.{name}")
    for key, value in node.items():
        if key not in ("properties", "example", "examples"):
            yield from _property_gaps(value, where)


def gaps(doc: dict[str, Any]) -> list[str]:
    """Everything the document leaves undocumented; empty when it is complete."""
    tags = {str(tag["name"]): str(tag.get("description", "")) for tag in doc.get("tags", [])}
    found: list[str] = []
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if method in METHODS:
                found.extend(_operation_gaps(op, method, path, tags))
                found.extend(_property_gaps(op, f"{method.upper()} {path}"))
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        found.extend(_property_gaps(schema, f"schema {name}"))
    return found
