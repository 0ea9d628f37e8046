"""Schemathesis in stateful mode over the whole public API on the real stack: sequences of
calls linked by the ids earlier answers returned (links schemathesis infers from the
gateway's ``/openapi.json``), checked for server errors and answers that break the document.
Then the cross-tenant sweep: every id tenant A was shown, tried with tenant B's key on every
route that takes an id, and every request A made with one of its ids replayed with B's key;
none may succeed, and no list of B's may show one of A's ids."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.routes import ROUTES, SEG
from tests.support import scenario as sc
from tests.support.scenario import build_scenario, ok
from tests.support.stack import Stack, Tenant

pytestmark = pytest.mark.e2e

SCENARIOS = 25
"""schemathesis' examples per scenario of linked calls"""
RATE = 40
"""requests a second of one key: below the gateway's default limit of 50"""
SWEEP_CONCURRENCY = 4
"""requests on their way at once in the cross-tenant sweep"""
MAX_SECONDS = 90
"""schemathesis' time budget: it stops generating scenarios when it is spent"""
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "use_after_free",
    "ensure_resource_availability",
)
SELLER = {
    "name": "Stateful Services Ltd",
    "address": "1 High Street\nLondon",
    "tax_id": "GB123456789",
    "email": "billing@stateful.example",
    "payment_terms_days": 14,
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Seen:
    """What tenant A was answered: its ids, and each request that named one of them."""

    ids: set[str] = field(default_factory=set)
    requests: dict[tuple[str, str], bytes | None] = field(default_factory=dict)

    def answered(
        self, method: str, url: str, body: bytes | None, status: int, content: bytes
    ) -> None:
        if not 200 <= status < 300:
            return
        found = set(UUID.findall(content.decode(errors="replace")))
        self.ids |= found
        path = httpx.URL(url).path
        if UUID.search(path) or (body and UUID.search(body.decode(errors="replace"))):
            self.requests.setdefault((method, path), body)


async def _stateful(base_url: str, key: str, workdir: Path) -> tuple[int, str, Path]:
    """``schemathesis run --phases stateful`` (its engine replays nothing of a live API, as
    Hypothesis' own state machine runner would); answers its exit status, its output and
    the HAR file of every exchange."""
    har = workdir / "stateful.har"
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base_url}/openapi.json",
        "--phases",
        "stateful",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(SCENARIOS),
        "--max-time",
        str(MAX_SECONDS),
        "--rate-limit",
        f"{RATE}/s",
        "--seed",
        "18",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--no-color",
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), MAX_SECONDS + 120)
    return proc.returncode or 0, out.decode(errors="replace"), har


def _read_har(har: Path, seen: Seen) -> int:
    """Feeds every exchange of the HAR file to ``seen``; answers how many there were."""
    entries = json.loads(har.read_text())["log"]["entries"]
    for entry in entries:
        request, response = entry["request"], entry["response"]
        body = (request.get("postData") or {}).get("text")
        seen.answered(
            request["method"],
            request["url"],
            body.encode() if body else None,
            response["status"],
            (response.get("content") or {}).get("text", "").encode(),
        )
    return len(entries)


def _template(route_pattern: str) -> str:
    return route_pattern.removeprefix("^").removesuffix("$")


def _with_one_id() -> Iterator[tuple[str, str]]:
    """(method, path template) of every route that takes exactly one id."""
    for route in ROUTES:
        template = _template(route.pattern.pattern)
        if template.count(SEG) == 1:
            for method in sorted(route.methods):
                yield method, template


def _lists() -> Iterator[str]:
    for route in ROUTES:
        template = _template(route.pattern.pattern)
        if "GET" in route.methods and SEG not in template:
            yield template


async def _cross_tenant(stack: Stack, other: Tenant, seen: Seen) -> list[str]:
    """Every answer that gave tenant B something of A's. The lists come first: B's own
    audit later shows the paths of B's attempts, A's ids in them."""
    found: list[str] = []
    gate = asyncio.Semaphore(SWEEP_CONCURRENCY)

    async def sent(api: httpx.AsyncClient, method: str, path: str, body: bytes | None) -> None:
        async with gate:
            await asyncio.sleep(SWEEP_CONCURRENCY / RATE)
            response = await api.request(
                method, path, content=body or b"{}", headers={"Content-Type": "application/json"}
            )
        answer = f"{response.status_code} {response.text[:200]}"
        if 200 <= response.status_code < 300:
            found.append(f"{method} {path} with B's key: {answer}")
        elif response.status_code >= 500:
            found.append(f"{method} {path}: {answer}")

    async with stack.client(other.key) as api:
        for template in _lists():
            await asyncio.sleep(1 / RATE)
            response = await api.get(template)
            leaked = set(UUID.findall(response.text)) & seen.ids
            if leaked:
                found.append(f"GET {template} with B's key shows A's ids {sorted(leaked)[:5]}")
        attempts = [
            *((method, path, body) for (method, path), body in sorted(seen.requests.items())),
            *(
                (method, template.replace(SEG, an_id), None)
                for method, template in _with_one_id()
                for an_id in sorted(seen.ids)
            ),
        ]
        await asyncio.gather(*(sent(api, *attempt) for attempt in attempts))
    return found


async def _seed(stack: Stack, tenant: Tenant, seen: Seen) -> None:
    """The walking-skeleton tenant: companies, contracts, usage, a billing run, one invoice
    posted and paid, an API key and a webhook endpoint; everything it was answered is seen."""

    async def replicas_ready() -> bool:
        rows = await stack.fetch(
            "SELECT count(*) AS n FROM invoicing.module_billing"
            " WHERE tenant_id = $1 AND enabled AND effective_from = $2",
            tenant.id,
            date.fromisoformat(sc.BILLING_FROM),
        )
        return bool(rows[0]["n"] == len(sc.MODULES))

    def record(response: httpx.Response) -> None:
        request = response.request
        seen.answered(
            request.method,
            str(request.url),
            request.content,
            response.status_code,
            response.content,
        )

    async with stack.client(tenant.key) as api:
        api.event_hooks["response"] = [_reading(record)]
        await build_scenario(api, replicas_ready)
        ok(await api.put("/v1/seller-profile", json=SELLER))
        drafts = ok(await api.get("/v1/invoices", params={"period": sc.PERIOD}))["items"]
        posted = ok(await api.post(f"/v1/invoices/{drafts[0]['id']}/post"))
        ok(
            await api.post(
                f"/v1/invoices/{posted['id']}/payments",
                json={"amount": "1.00"},
            ),
            201,
        )
        ok(await api.post("/v1/api-keys", json={"name": "reader", "role": "viewer"}), 201)
        ok(
            await api.post(
                "/v1/webhooks",
                json={"url": "http://127.0.0.1:9/hook", "events": ["invoice.voided"]},
            ),
            201,
        )
        for path in ("/v1/invoices", "/v1/contracts", "/v1/companies", "/v1/module-orgs"):
            ok(await api.get(path, params={"limit": 100}))


def _reading(record: Any) -> Any:
    async def hook(response: httpx.Response) -> None:
        await response.aread()
        record(response)

    return hook


async def test_stateful_schemathesis_and_no_answer_across_tenants(
    stack: Stack, tmp_path: Path
) -> None:
    a, b = await stack.new_tenant(), await stack.new_tenant()
    seen = Seen()
    began = time.monotonic()
    await _seed(stack, a, seen)
    status, output, har = await _stateful(stack.url("gateway"), a.key, tmp_path)
    assert status == 0, output[-20000:]
    exchanges = _read_har(har, seen)
    assert len(seen.ids) >= 10, f"too few of A's ids to try: {sorted(seen.ids)}"
    crossed = await _cross_tenant(stack, b, seen)
    assert not crossed, "\n".join(crossed[:50])
    print(
        f"stateful run and sweep: {exchanges} stateful calls, {len(seen.ids)} ids of A, "
        f"{len(seen.requests)} requests replayed, "
        f"{time.monotonic() - began:.0f}s"
    )
