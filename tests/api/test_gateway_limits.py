"""Limits: bodies (413), a token bucket per key (429 with Retry-After), and pagination with
``limit`` and ``cursor`` on every list of the public API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.gateway.limits import RateLimiter
from tests.conftest import EmbeddedApi


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.wait_seconds("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_seconds("a") == pytest.approx(0.5)
    assert limiter.wait_seconds("b") == 0  # per key
    clock.now += 0.5
    assert limiter.wait_seconds("a") == 0
    assert limiter.wait_seconds("a") == pytest.approx(0.5)
    clock.now += 60  # refills up to the burst, not beyond
    assert [limiter.wait_seconds("a") for _ in range(4)][-1] > 0


async def test_a_key_over_its_rate_gets_429_with_retry_after(embedded_api: EmbeddedApi) -> None:
    clock = Clock()
    embedded_api.system.gateway.rate_limiter = RateLimiter(rate=0.5, burst=3, clock=clock)
    api = embedded_api.client
    statuses = [(await api.get("/v1/companies")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await api.post("/v1/companies", json={"name": "A"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    assert (await api.get("/v1/api-keys")).status_code == 429  # the gateway's own routes too
    # Another key of the same tenant has its own bucket.
    clock.now += 2
    other = (await api.post("/v1/api-keys", json={"name": "v", "role": "viewer"})).json()["key"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=embedded_api.system.app),
        base_url="http://icb.test",
        headers={"Authorization": f"Bearer {other}"},
    ) as viewer:
        assert (await viewer.get("/v1/companies")).status_code == 200
    assert (await api.get("/v1/companies")).status_code == 429
    clock.now += 2
    assert (await api.get("/v1/companies")).status_code == 200
    # The refused write is in the audit trail with its outcome.
    clock.now += 100
    audit = (await api.get("/v1/audit")).json()["items"]
    assert ("POST", "/v1/companies", 429) in {(a["method"], a["path"], a["status"]) for a in audit}


async def test_bodies_above_the_limit_get_413(embedded_api: EmbeddedApi) -> None:
    limit = embedded_api.system.gateway.settings.max_body_bytes
    api = embedded_api.client
    big = b'{"name": "' + b"x" * limit + b'"}'
    response = await api.post(
        "/v1/companies", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    for path in ("/v1/companies", "/v1/api-keys"):
        response = await api.post(
            path, content=chunked(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, path
    # Without a key, too: the body is refused before anything reads it.
    response = await api.post(
        "/v1/usage", content=big, headers={"Authorization": "", "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert (await api.post("/v1/companies", json={"name": "fits"})).status_code == 201


def _is_list(op: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the operation answers a list, and whether as a page ``{items, next_cursor}``."""
    schema = (
        op["responses"]
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )
    if schema.get("type") == "array":
        return True, False
    ref = schema.get("$ref", "")
    if ref:
        target = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        props = target.get("properties", {})
        if {"items", "next_cursor"} <= props.keys():
            return True, True
    return False, False


async def test_every_list_is_paginated_with_limit_and_cursor(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    doc = (await api.get("/openapi.json")).json()
    pages, bare = [], []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        is_list, paged = _is_list(op, doc)
        if not is_list:
            continue
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if paged and {"limit", "cursor"} <= params:
            pages.append(path)
        else:
            bare.append(path)
    assert bare == []
    assert len(pages) >= 11, pages

    # And the pages really page: three keys, two at a time.
    for name in ("a", "b"):
        await api.post("/v1/api-keys", json={"name": name, "role": "viewer"})
    first = (await api.get("/v1/api-keys", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (
        await api.get("/v1/api-keys", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [k["id"] for k in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "not-a-cursor"}):
        assert (await api.get("/v1/companies", params=bad)).status_code == 422, bad


async def test_nul_characters_are_refused_wherever_they_come(embedded_api: EmbeddedApi) -> None:
    """PostgreSQL cannot store U+0000: refused at the door (422), never a 5xx behind it."""
    api = embedded_api.client
    json_type = {"content-type": "application/json"}
    for method, path, body, headers, where in (
        ("POST", "/v1/companies", b'{"name": "a\\u0000b"}', json_type, "body"),
        ("POST", "/v1/api-keys", b'{"name": "\\\\\\u0000", "role": "viewer"}', json_type, "body"),
        ("POST", "/v1/companies/import", b"name\nA\x00B\n", {"content-type": "text/csv"}, "body"),
        ("GET", "/v1/companies/a%00b", None, {}, "path"),
        ("GET", "/v1/companies?q=a%00", None, {}, "query"),
    ):
        response = await api.request(method, path, content=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
        problem = response.json()
        assert problem["errors"] == [{"loc": [where], "msg": problem["errors"][0]["msg"]}]
    # An escaped backslash before "u0000" is no NUL.
    fine = await api.post("/v1/companies", content=b'{"name": "a\\\\u0000b"}', headers=json_type)
    assert fine.status_code == 201, fine.text
    assert fine.json()["name"] == "a\\u0000b"
    names = [c["name"] for c in (await api.get("/v1/companies")).json()["items"]]
    assert names == ["a\\u0000b"]


async def pages_of(api: httpx.AsyncClient, path: str, limit: int) -> list[list[Any]]:
    """Every page of a list, ``limit`` items at a time."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await api.get(path, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_modules_service_mappings_and_insights_page(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    for metric in ("servers", "desktops_laptops", "total_devices"):
        response = await api.put(
            f"/v1/service-mappings/datto_rmm/{metric}", json={"service_codes": [metric.upper()]}
        )
        assert response.status_code == 200, response.text
    await api.put("/v1/modules/datto_rmm/billing", json={"enabled": False})
    for path, size in (("/v1/modules", 25), ("/v1/service-mappings", 3)):
        whole = (await api.get(path)).json()
        assert len(whole["items"]) == size and whole["next_cursor"] is None, path
        pages = await pages_of(api, path, 2)
        assert [len(p) for p in pages[:-1]] == [2] * (len(pages) - 1), path
        assert [x for p in pages for x in p] == whole["items"], path
    whole = (await api.get("/v1/insights")).json()
    assert set(whole) == {"items", "next_cursor"}
    assert [x for p in await pages_of(api, "/v1/insights", 1) for x in p] == whole["items"]
    for path in ("/v1/modules", "/v1/service-mappings", "/v1/insights"):
        for bad in ({"limit": 0}, {"cursor": "not-a-cursor"}):
            assert (await api.get(path, params=bad)).status_code == 422, (path, bad)
