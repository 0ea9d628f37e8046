"""One OpenAPI document for the public API: the services' documents merged with the gateway's
own, limited to what the routing table routes, with the bearer scheme and the problems the
gateway (or any service) may answer on every operation.

The services' documents are fetched from their ``/openapi.json`` through the gateway's own
upstream clients (HTTP, or ASGI transports in the embedded mode), once and then again after
``ttl`` seconds; a failed refresh keeps serving the last good document.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.gateway.openapi_tags import TAGS, display_key, tag_of
from services.gateway.routes import GATEWAY, Route, route_of_template
from shared.problems import PROBLEM_JSON, TYPE_BASE, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

Doc = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
SECURITY = "apiKey"
REF = "#/components/schemas/"
PROBLEM_REF = {"$ref": f"{REF}Problem"}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {
                "type": "string",
                "description": "What kind of problem: a URI reference (`/problems/{type}`) to "
                "a page explaining it and what to do.",
                "example": TYPE_BASE + ValidationFailed.slug,
            },
            "title": {
                "type": "string",
                "description": "The kind of problem in a few words; the same for every "
                "problem of the type.",
            },
            "status": {"type": "integer", "description": "The HTTP status of the answer."},
            "detail": {
                "type": "string",
                "description": "What went wrong with this request, for people.",
            },
            "instance": {
                "type": "string",
                "description": "The request the problem occurred on.",
            },
            "errors": {
                "type": "array",
                "items": {"$ref": f"{REF}ProblemError"},
                "description": "Validation problems only: every invalid value, where and why.",
            },
        },
    },
    "ProblemError": {
        "title": "ProblemError",
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": "Where: `body`, `query`, `path` or `header`, then the field "
                "names and list indexes leading to the value.",
                "example": ["body", "services", 0, "unit_price"],
            },
            "msg": {"type": "string", "description": "Why the value is refused."},
        },
    },
}

# Problems every operation may answer; the others where they apply (see _problems).
ALWAYS = {
    "401": "Missing, unknown or revoked API key.",
    "403": "The key's role may not call this operation.",
    "429": "The key's rate limit is spent; retry after `Retry-After` seconds.",
    "502": "The service behind this operation failed.",
    "503": "The service behind this operation is unavailable.",
    "504": "The service behind this operation did not answer in time.",
}
NOT_FOUND = {
    "404": "No such resource for this tenant (another tenant's resources are not found either).",
}
INVALID = {"422": "The request is invalid; `errors` says where and why."}
WRITES = {"409": "The request conflicts with the resource's state."}
BODIES = {
    "400": "The body cannot be read.",
    "413": "The body (or the number of items in it) is too large.",
    "415": "The body's media type is not one this operation takes.",
}
HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {
            "description": "The authentication scheme: `Bearer`.",
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "required": True,
            "description": "Seconds to wait.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def _problem_response(status: str, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _problems(op: dict[str, Any], method: str, template: str) -> dict[str, str]:
    """The problems an operation may answer besides those its service names itself."""
    problems = dict(ALWAYS)
    if "{" in template:
        problems.update(NOT_FOUND)
    if op.get("parameters") or "requestBody" in op:
        problems.update(INVALID)
    if method != "get":
        problems.update(WRITES)
    if "requestBody" in op:
        problems.update(BODIES)
    return problems


def _with_problem_content(status: str, response: dict[str, Any]) -> dict[str, Any]:
    """An error answer a service documents (its description) as the problem it is."""
    if not status.startswith(("4", "5")):
        return response
    shaped = _problem_response(status, response.get("description") or "")
    return {**shaped, **{k: v for k, v in response.items() if k not in ("content", "headers")}}


def _walk_refs(node: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                out[key] = REF + rename(value.removeprefix(REF))
            else:
                out[key] = _walk_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_walk_refs(item, rename) for item in node]
    return node


def _hoist_defs(node: Any, into: dict[str, Any]) -> Any:
    """Moves inline ``$defs`` (a model schema pasted into ``openapi_extra``, its references
    already pointing at the components) into the components, where those references look."""
    if isinstance(node, dict):
        for name, schema in node.get("$defs", {}).items():
            into.setdefault(name, _hoist_defs(schema, into))
        return {k: _hoist_defs(v, into) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_hoist_defs(item, into) for item in node]
    return node


def _renamer(names: dict[str, str]) -> Callable[[str], str]:
    return lambda name: names.get(name, name)


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                found.add(value.removeprefix(REF))
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def _prune(schemas: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """Only the schemas the operations use, directly or through other schemas."""
    used: set[str] = set()
    _refs(paths, used)
    todo = list(used)
    while todo:
        found: set[str] = set()
        _refs(schemas.get(todo.pop(), {}), found)
        todo.extend(found - used)
        used |= found
    return {name: schemas[name] for name in sorted(used) if name in schemas}


def _roles_text(route: Route) -> str:
    return "Roles: " + ", ".join(sorted(route.roles)) + "."


def _public_operation(
    op: dict[str, Any], method: str, template: str, route: Route
) -> dict[str, Any]:
    op = copy.deepcopy(op)
    responses: dict[str, Any] = {
        status: _with_problem_content(status, response)
        for status, response in op.get("responses", {}).items()
        if status != "422"  # FastAPI's own shape: every 422 here is a problem
    }
    for status, description in _problems(op, method, template).items():
        responses.setdefault(status, _problem_response(status, description))
    op["responses"] = dict(sorted(responses.items()))
    op["security"] = [{SECURITY: []}]
    op["x-roles"] = sorted(route.roles)
    tag = tag_of(template)
    op["tags"] = [] if tag is None else [tag.name]
    description = op.get("description", "").strip()
    op["description"] = f"{description}\n\n{_roles_text(route)}".strip()
    return op


def _resolve(schema: Any, schemas: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        schema = schemas.get(schema["$ref"].removeprefix(REF))
    return schema


def _lift_examples(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A request body's example where the viewers prefill it (the media type), taken from
    its schema: the model's ``examples`` (``json_schema_extra``) or the schema's
    ``example``."""
    for operations in paths.values():
        for op in operations.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                if "example" in media or "examples" in media:
                    continue
                example = _example_of(media.get("schema"), schemas)
                if example is not None:
                    media["example"] = example


def _example_of(schema: Any, schemas: dict[str, Any]) -> Any:
    schema = _resolve(schema, schemas)
    if not isinstance(schema, dict):
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    for choice in schema.get("anyOf", []):  # an optional body: the model or null
        example = _example_of(choice, schemas)
        if example is not None:
            return example
    return None


def _health_paths() -> dict[str, Any]:
    def plain(summary: str, description: str, ok: dict[str, Any], *extra: str) -> dict[str, Any]:
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": ok}}}
        }
        for status in extra:
            responses[status] = {
                "description": "Not ready",
                "content": {"application/json": {"schema": ok}},
            }
        return {
            "get": {
                "summary": summary,
                "description": description,
                "tags": ["Health"],
                "security": [],
                "operationId": summary.lower().replace(" ", "_"),
                "responses": responses,
            }
        }

    status = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {
                "type": "string",
                "description": "`ok` (liveness), `ready` or `unavailable` (readiness).",
            },
            "service": {"type": "string", "description": "The service that answered."},
            "checks": {
                "type": "object",
                "additionalProperties": {"type": "boolean"},
                "description": "Readiness: per dependency (the database, each service "
                "behind the gateway) whether it answered.",
            },
        },
        "additionalProperties": True,
    }
    return {
        "/healthz": plain(
            "Liveness", "Answers 200 while the gateway process serves requests.", status
        ),
        "/readyz": plain(
            "Readiness",
            "Answers 200 when the gateway's database and the services behind it answer, "
            "503 otherwise (take the gateway out of rotation); `checks` says which failed.",
            status,
            "503",
        ),
    }


def merge(documents: dict[str, Doc], title: str, version: str) -> Doc:
    """``documents``: per service (``gateway`` for the gateway's own), its OpenAPI document."""
    schemas: dict[str, Any] = copy.deepcopy(PROBLEM_SCHEMAS)
    paths: dict[str, Any] = {}
    for service in sorted(documents, key=lambda name: (name != GATEWAY, name)):
        hoisted: dict[str, Any] = {}
        doc = _hoist_defs(documents[service], hoisted)
        theirs: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in hoisted.items():
            theirs.setdefault(name, schema)
        names: dict[str, str] = {}
        for name, schema in theirs.items():
            taken = schemas.get(name)
            names[name] = name if taken is None or taken == schema else f"{service}_{name}"
        doc = _walk_refs(doc, _renamer(names))
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(names[name], schema)
        for template, operations in doc.get("paths", {}).items():
            for method, op in operations.items():
                if method not in METHODS:
                    continue
                route = route_of_template(method, template)
                if route is None or route.service != service:
                    continue  # not public, or not this service's to answer
                paths.setdefault(template, {})[method] = _public_operation(
                    op, method, template, route
                )
    paths.update(_health_paths())
    ordered = {path: paths[path] for path in sorted(paths, key=display_key)}
    _lift_examples(ordered, schemas)
    used = {
        tag for operations in ordered.values() for op in operations.values() for tag in op["tags"]
    }
    merged: Doc = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The public API of Integrated Customer Billing. Every `/v1` "
            "operation takes `Authorization: Bearer <API key>`; errors are "
            "RFC 9457 problems (`application/problem+json`).",
        },
        "security": [{SECURITY: []}],
        "paths": ordered,
        "components": {
            "schemas": _prune(schemas, ordered),
            "securitySchemes": {
                SECURITY: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, `icb_<id>_<secret>`.",
                },
            },
        },
    }
    merged["tags"] = [
        {"name": tag.name, "description": tag.description} for tag in TAGS if tag.name in used
    ]
    return merged


class OpenApiAggregator:
    def __init__(
        self,
        clients: dict[str, httpx.AsyncClient],
        own: Callable[[], Doc],
        title: str,
        version: str,
        ttl: float = 300.0,
        timeout: float = 10.0,
    ) -> None:
        self._clients = clients
        self._own = own
        self._title = title
        self._version = version
        self._ttl = ttl
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._document: bytes | None = None
        self._fetched_at = 0.0

    async def _fetch(self, service: str, client: httpx.AsyncClient) -> Doc:
        response = await client.get("/openapi.json", timeout=self._timeout)
        response.raise_for_status()
        doc = response.json()
        if not isinstance(doc, dict):
            raise ValueError(f"{service}: the OpenAPI document is not an object")
        return doc

    async def document(self) -> bytes:
        """The merged document as JSON bytes."""
        if self._document is not None and time.monotonic() - self._fetched_at < self._ttl:
            return self._document
        async with self._lock:
            if self._document is not None and time.monotonic() - self._fetched_at < self._ttl:
                return self._document
            try:
                fetched = await asyncio.gather(
                    *(self._fetch(name, client) for name, client in self._clients.items())
                )
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("cannot fetch the services' OpenAPI documents: %r", exc)
                if self._document is not None:
                    return self._document
                raise ServiceUnavailable(
                    "The API description is not available right now; retry shortly."
                ) from exc
            documents = dict(zip(self._clients, fetched, strict=True))
            documents[GATEWAY] = self._own()
            merged = merge(documents, self._title, self._version)
            self._document = json.dumps(merged).encode()
            self._fetched_at = time.monotonic()
            return self._document
