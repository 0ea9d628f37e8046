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

from services.gateway.routes import GATEWAY, Route, route_of_template
from shared.problems import PROBLEM_JSON, ServiceUnavailable

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
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": f"{REF}ProblemError"}},
        },
    },
    "ProblemError": {
        "title": "ProblemError",
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
        },
    },
}

# Every operation may answer these; 400, 409 and 413 only those that take a body or write.
ALWAYS = {
    "401": "Missing, unknown or revoked API key.",
    "403": "The key's role may not call this operation.",
    "404": "No such resource for this tenant (another tenant's resources are not found either).",
    "422": "The request is invalid; `errors` says where and why.",
    "429": "The key's rate limit is spent; retry after `Retry-After` seconds.",
    "502": "The service behind this operation failed.",
    "503": "The service behind this operation is unavailable.",
    "504": "The service behind this operation did not answer in time.",
}
WRITES = {
    "409": "The request conflicts with the resource's state.",
    "415": "The body's media type is not one this operation takes.",
}
BODIES = {
    "400": "The body cannot be read.",
    "413": "The body (or the number of items in it) is too large.",
}
HEADERS: dict[str, dict[str, Any]] = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}}},
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


def _public_operation(op: dict[str, Any], method: str, route: Route) -> dict[str, Any]:
    op = copy.deepcopy(op)
    responses: dict[str, Any] = {
        status: response
        for status, response in op.get("responses", {}).items()
        if status != "422"  # FastAPI's own shape: every 422 here is a problem
    }
    extra = dict(ALWAYS)
    if method != "get":
        extra.update(WRITES)
    if "requestBody" in op:
        extra.update(BODIES)
    for status, description in extra.items():
        responses.setdefault(status, _problem_response(status, description))
    op["responses"] = dict(sorted(responses.items()))
    op["security"] = [{SECURITY: []}]
    op["x-roles"] = sorted(route.roles)
    description = op.get("description", "").strip()
    op["description"] = f"{description}\n\n{_roles_text(route)}".strip()
    return op


def _health_paths() -> dict[str, Any]:
    def plain(summary: str, ok: dict[str, Any], *extra: str) -> dict[str, Any]:
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
                "tags": ["health"],
                "security": [],
                "operationId": summary.lower().replace(" ", "_"),
                "responses": responses,
            }
        }

    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
        "additionalProperties": True,
    }
    return {
        "/healthz": plain("Liveness", status),
        "/readyz": plain("Readiness", status, "503"),
    }


def merge(documents: dict[str, Doc], title: str, version: str) -> Doc:
    """``documents``: per service (``gateway`` for the gateway's own), its OpenAPI document."""
    schemas: dict[str, Any] = copy.deepcopy(PROBLEM_SCHEMAS)
    paths: dict[str, Any] = {}
    tags: dict[str, Any] = {}
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
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)
        for template, operations in doc.get("paths", {}).items():
            for method, op in operations.items():
                if method not in METHODS:
                    continue
                route = route_of_template(method, template)
                if route is None or route.service != service:
                    continue  # not public, or not this service's to answer
                paths.setdefault(template, {})[method] = _public_operation(op, method, route)
    paths.update(_health_paths())
    ordered = {path: paths[path] for path in sorted(paths)}
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
    if tags:
        merged["tags"] = list(tags.values())
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
