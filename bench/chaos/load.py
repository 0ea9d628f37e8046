"""The client side: a sample MSP of 1,000 companies on 25 modules, set up and fed through the
gateway by a client that retries the way a real integration does (the same request again on
a connection error, a 5xx or a 429, after ``Retry-After`` or a short back-off)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import httpx

from tools.demo import seller_profile
from tools.sample import generate
from tools.sample.generator import SampleMsp
from tools.sample.load import contract_bodies
from tools.sample.model import as_usage_json

COMPANIES = 1000
BATCH = 2000
SETUP_CONCURRENCY = 4
"""requests at a time while setting up and posting"""
CALL_LIMIT_SECONDS = 600.0
RUN_POLL_SECONDS = 0.5


class ChaosClientError(RuntimeError):
    """An answer a retrying client cannot get past (a 4xx it did not expect)."""


@dataclass(frozen=True)
class Input:
    msp: SampleMsp
    records: list[dict[str, str]]
    period: str


def chaos_input(records: int, seed: int, today: dt.date | None = None) -> Input:
    """``records`` daily counts of a 1,000-company sample from the first day of a month that
    lies far enough back for them all to be in the past; that month is the one billed."""
    yesterday = (today or dt.date.today()) - dt.timedelta(days=1)
    probe = generate(seed, COMPANIES, yesterday.strftime("%Y-%m"))
    per_day = max(1, probe.record_count(yesterday, yesterday))
    first = yesterday - dt.timedelta(days=math.ceil(records * 1.2 / per_day) + 1)
    period = first.strftime("%Y-%m")
    msp = generate(seed, COMPANIES, period)
    chosen = [as_usage_json(r) for r in islice(msp.records(msp.period_start, yesterday), records)]
    if len(chosen) < records:
        raise ValueError(f"the sample has only {len(chosen)} records up to {yesterday}")
    return Input(msp, chosen, period)


@dataclass
class Retries:
    connection_errors: int = 0
    unavailable: int = 0
    """503 answers (a dependency outage, as promised)"""
    rate_limited: int = 0
    server_errors: list[str] = field(default_factory=list)
    """5xx other than 503: each one a defect (an outage must answer 503)"""


@dataclass
class Client:
    """One tenant's API client; ``in_flight`` tells the fault injector a request is out."""

    base_url: str
    key: str
    retries: Retries = field(default_factory=Retries)
    in_flight: int = 0
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    """set while a request is on its way"""

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=httpx.Timeout(120, connect=5),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content: bytes | None = None,
        media: str = "application/json",
        **params: Any,
    ) -> httpx.Response:
        """The answer that is neither a connection error, a 5xx nor a 429."""
        if body is not None:
            content = json.dumps(body).encode()
        headers = {"Content-Type": media} if content is not None else {}
        deadline = time.monotonic() + CALL_LIMIT_SECONDS
        pause = 0.1
        while True:
            self.in_flight += 1
            self.sending.set()
            try:
                response = await self.http.request(
                    method, path, content=content, headers=headers, params=params or None
                )
            except httpx.TransportError:
                self.retries.connection_errors += 1
                response = None
            finally:
                self.in_flight -= 1
                if not self.in_flight:
                    self.sending.clear()
            if response is not None and response.status_code < 500 and response.status_code != 429:
                return response
            if response is not None:
                self._count(method, path, response)
            if time.monotonic() > deadline:
                raise ChaosClientError(f"{method} {path}: no answer in {CALL_LIMIT_SECONDS}s")
            wait = pause
            if response is not None and "retry-after" in response.headers:
                wait = min(float(response.headers["retry-after"]), 5.0)
            await asyncio.sleep(wait)
            pause = min(pause * 2, 2.0)

    def _count(self, method: str, path: str, response: httpx.Response) -> None:
        if response.status_code == 503:
            self.retries.unavailable += 1
        elif response.status_code == 429:
            self.retries.rate_limited += 1
        else:
            self.retries.server_errors.append(
                f"{method} {path} answered {response.status_code}: {response.text[:300]}"
            )

    async def json(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.call(method, path, body, **params)
        if response.status_code >= 400:
            raise ChaosClientError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    async def pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            page = await self.json("GET", path, limit=500, **params, **extra)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items


Gate = Callable[[float], Awaitable[None]]
"""awaited before each step with the share of the phase done: where faults come in"""


async def no_gate(_share: float) -> None:
    return None


async def set_up(client: Client, data: Input) -> None:
    """Companies (one CSV import), module billing, service mappings, contracts (a few at a
    time) and the seller profile."""
    msp = data.msp
    csv = "name,external_ref,tax_rate,currency\n" + "".join(
        f'"{c.name.replace(chr(34), chr(34) * 2)}",{c.external_ref},{c.tax_rate},{c.currency}\n'
        for c in msp.companies
    )
    response = await client.call(
        "POST", "/v1/companies/import", None, content=csv.encode(), media="text/csv"
    )
    report = response.json()
    if response.status_code != 200 or report["rejected"]:
        raise ChaosClientError(f"company import: {response.status_code} {response.text[:500]}")
    by_ref = {c["external_ref"]: c["id"] for c in report["companies"]}
    ids = {c.key: by_ref[c.external_ref] for c in msp.companies}
    for module in msp.catalog.modules:
        body = {"enabled": True, "effective_from": msp.period_start.isoformat()}
        await client.json("PUT", f"/v1/modules/{module.id}/billing", body)
    for (module_id, metric), codes in msp.service_mappings().items():
        body = {"service_codes": list(codes)}
        await client.json("PUT", f"/v1/service-mappings/{module_id}/{metric}", body)
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def contract(body: dict[str, Any]) -> None:
        async with gate:
            await client.json("POST", "/v1/contracts", body)

    await asyncio.gather(*(contract(b) for b in contract_bodies(msp, ids)))
    await client.json("PUT", "/v1/seller-profile", seller_profile(msp))


def batches(records: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    for i in range(0, len(records), BATCH):
        yield records[i : i + BATCH]


async def ingest(client: Client, data: Input, gate: Gate = no_gate) -> int:
    """Posts every record in order, batch after batch; answers how many were stored."""
    stored = 0
    chunks = list(batches(data.records))
    for i, chunk in enumerate(chunks):
        await gate(i / len(chunks))
        answer = await client.json("POST", "/v1/usage", {"records": chunk})
        if answer["rejected"]:
            raise ChaosClientError(f"records rejected: {answer['rejected'][:3]}")
        stored += answer["accepted"] + answer["corrected"] + answer["unchanged"]
    await gate(1.0)
    return stored


async def auto_map(client: Client) -> int:
    answer = await client.json("POST", "/v1/module-orgs/auto-map", {})
    return len(answer["mappings"])


async def billing_run(client: Client, period: str) -> dict[str, Any]:
    """Starts the run and follows it to its end; a retried start is a new run, which
    refreshes the same drafts."""
    response = await client.call("POST", "/v1/billing-runs", {"period": period})
    if response.status_code not in (200, 201, 202):
        raise ChaosClientError(f"billing run: {response.status_code} {response.text[:500]}")
    state: dict[str, Any] = response.json()
    while state.get("status") not in ("succeeded", "failed", None):
        await asyncio.sleep(RUN_POLL_SECONDS)
        state = await client.json("GET", f"/v1/billing-runs/{state['id']}")
    if state.get("status") == "failed":
        raise ChaosClientError(f"billing run failed: {state.get('problem')}")
    return state


async def post_drafts(
    client: Client, period: str, limit: int | None = None, gate: Gate = no_gate
) -> int:
    """Posts the period's drafts that are not held (of the first ``limit`` companies by
    reference, when given), a few at a time, as a clerk's tool would; a retried post that
    finds its invoice already posted counts as done."""
    refs = {c["id"]: c["external_ref"] for c in await client.pages("/v1/companies")}
    drafts = sorted(
        (
            d
            for d in await client.pages("/v1/invoices", period=period, status="draft")
            if not (d.get("hold") and not d["hold"].get("released_at"))
        ),
        key=lambda d: (refs[d["company_id"]], d["currency"]),
    )[:limit]
    queue = list(enumerate(drafts))

    async def worker() -> None:
        while queue:
            i, draft = queue.pop(0)
            await gate(i / max(1, len(drafts)))
            response = await client.call("POST", f"/v1/invoices/{draft['id']}/post")
            if response.status_code == 200:
                continue
            now = await client.json("GET", f"/v1/invoices/{draft['id']}")
            if now["status"] != "posted":
                raise ChaosClientError(
                    f"posting {draft['id']}: {response.status_code} {response.text[:500]}"
                )

    await asyncio.gather(*(worker() for _ in range(SETUP_CONCURRENCY)))
    await gate(1.0)
    return len(drafts)
