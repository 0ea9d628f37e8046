"""The daily pull against the module simulator (in process), driven by an injected clock: the
scheduled sync of every module, "sync now", retries with backoff, and a missed day that is
estimated and then replaced when it arrives late."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from services.ingest.models import UsageRecordRow
from services.ingest.sync.runner import Syncer
from shared.catalog import CATALOG
from tools.simulator import SimulatorState, create_app

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

TODAY = datetime.now(UTC).date()  # the test tenant's zone is UTC
YESTERDAY = TODAY - timedelta(days=1)
TOKEN = "sim-token"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Pull:
    api: EmbeddedApi
    simulator: SimulatorState
    syncer: Syncer
    clock: Clock

    async def connect(self, *modules: str, token: str = TOKEN) -> None:
        for module in modules:
            body = {"base_url": f"http://simulator/{module}/v1", "credentials": {"token": token}}
            response = await self.api.client.put(f"/v1/modules/{module}/connection", json=body)
            assert response.status_code == 200, response.text

    async def sync_now(self, module: str, day: date) -> dict[str, Any]:
        response = await self.api.client.post(
            f"/v1/modules/{module}/sync", json={"date": day.isoformat()}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def syncs(self, module: str) -> list[dict[str, Any]]:
        response = await self.api.client.get(f"/v1/modules/{module}/syncs")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def stored(self, module: str, day: date) -> int:
        async with self.api.system.runtimes["ingest"].sessions() as session:
            c = UsageRecordRow
            return int(
                await session.scalar(
                    select(func.count()).where(
                        c.tenant_id == self.api.tenant_id, c.module == module, c.day == day
                    )
                )
                or 0
            )


@pytest.fixture
async def pull(embedded_api: EmbeddedApi) -> AsyncIterator[Pull]:
    simulator = SimulatorState(
        seed=21, companies=12, period=YESTERDAY.strftime("%Y-%m"), token=TOKEN, page_size=25
    )
    syncer = embedded_api.system.ingest.syncer
    clock = Clock(datetime.combine(TODAY, time(0, 45), UTC))
    syncer.clock, syncer.transport = clock, httpx.ASGITransport(app=create_app(simulator))
    yield Pull(embedded_api, simulator, syncer, clock)


async def test_the_scheduled_sync_pulls_yesterday_of_all_25_modules_once(pull: Pull) -> None:
    modules = CATALOG.module_ids
    assert len(modules) == 25
    await pull.connect(*modules)
    pull.clock.now = datetime.combine(TODAY, time(0, 31), UTC)
    assert await pull.syncer.tick() == 25
    for module in modules:
        expected = len(pull.simulator.items(module, YESTERDAY))
        [sync] = await pull.syncs(module)
        assert (sync["date"], sync["trigger"], sync["status"]) == (
            YESTERDAY.isoformat(),
            "scheduled",
            "succeeded",
        ), sync
        assert (sync["attempts"], sync["records"], sync["accepted"]) == (1, expected, expected)
        assert sync["rejected"] == 0 and sync["error"] is None
        assert sync["started_at"] and sync["finished_at"]
        assert await pull.stored(module, YESTERDAY) == expected
    await pull.api.settle()
    listed = (await pull.api.client.get("/v1/modules")).json()["items"]
    assert {m["last_usage_date"] for m in listed} == {YESTERDAY.isoformat()}
    assert all(m["org_count"] > 0 and m["connected"] for m in listed)
    assert {m["last_sync"]["status"] for m in listed} == {"succeeded"}

    pull.clock.advance(hours=5)
    assert await pull.syncer.tick() == 0  # once a day
    pull.clock.now = datetime.combine(TODAY + timedelta(days=1), time(0, 29), UTC)
    assert await pull.syncer.tick() == 0  # not before 00:30
    pull.clock.advance(minutes=1)
    assert await pull.syncer.tick() == 25  # the next day
    assert [s["date"] for s in await pull.syncs("graphus")] == [
        TODAY.isoformat(),
        YESTERDAY.isoformat(),
    ]


async def test_the_sync_runs_at_the_tenants_local_time(pull: Pull) -> None:
    auckland = ZoneInfo("Pacific/Auckland")
    async with await pull.api.new_tenant("Kiwi MSP", "Pacific/Auckland") as kiwi:
        body = {
            "base_url": "http://simulator/graphus/v1",
            "credentials": {"token": TOKEN},
            "sync_time": "01:00",
        }
        connection = (await kiwi.put("/v1/modules/graphus/connection", json=body)).json()
        assert connection["timezone"] == "Pacific/Auckland"
        local_day = TODAY
        pull.clock.now = datetime.combine(local_day, time(0, 59), auckland).astimezone(UTC)
        assert await pull.syncer.tick() == 1  # a new connection pulls its latest due day
        assert await pull.syncer.tick() == 0
        pull.clock.advance(minutes=1)  # 01:00 in Auckland
        assert await pull.syncer.tick() == 1
        syncs = (await kiwi.get("/v1/modules/graphus/syncs")).json()["items"]
        assert [(s["date"], s["status"]) for s in syncs] == [
            ((local_day - timedelta(days=1)).isoformat(), "succeeded"),
            ((local_day - timedelta(days=2)).isoformat(), "succeeded"),
        ]


async def test_sync_now(pull: Pull) -> None:
    await pull.connect("datto_rmm")
    day = YESTERDAY - timedelta(days=3)
    expected = len(pull.simulator.items("datto_rmm", day))
    assert expected > 25  # several pages
    sync = await pull.sync_now("datto_rmm", day)
    assert (sync["trigger"], sync["status"], sync["records"], sync["accepted"]) == (
        "manual",
        "succeeded",
        expected,
        expected,
    )
    assert await pull.stored("datto_rmm", day) == expected
    again = await pull.sync_now("datto_rmm", day)
    assert (again["accepted"], again["unchanged"]) == (0, expected)
    assert [s["id"] for s in await pull.syncs("datto_rmm")] == [again["id"], sync["id"]]


async def test_sync_now_refusals(pull: Pull) -> None:
    client = pull.api.client
    assert (await client.post("/v1/modules/graphus/sync", json={})).status_code == 404
    await pull.connect("graphus")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    problem = (await client.post("/v1/modules/graphus/sync", json={"date": tomorrow})).json()
    assert problem["status"] == 422 and problem["errors"][0]["loc"] == ["body", "date"]
    assert (await client.post("/v1/modules/nope/sync", json={})).status_code == 404
    default = (await client.post("/v1/modules/graphus/sync", json={})).json()
    assert default["date"] == YESTERDAY.isoformat()  # real clock: yesterday by default


@pytest.mark.parametrize(
    "send",
    [
        {},  # no body at all
        {"content": b""},
        {"content": b"", "headers": {"Content-Type": "application/json"}},
        {"json": {}},
        {"json": {"date": None}},
    ],
    ids=["no-body", "empty", "empty-json", "empty-object", "null-date"],
)
async def test_sync_now_takes_every_default_without_a_body(
    pull: Pull, send: dict[str, Any]
) -> None:
    await pull.connect("graphus")
    response = await pull.api.client.post("/v1/modules/graphus/sync", **send)
    assert response.status_code == 200, response.text
    sync = response.json()
    assert (sync["date"], sync["trigger"], sync["status"]) == (
        YESTERDAY.isoformat(),
        "manual",
        "succeeded",
    )


@pytest.mark.parametrize(
    "body",
    [b"[]", b"null-ish", b'{"date": "yesterday"}', b'{"day": "2026-01-01"}'],
)
async def test_sync_now_still_refuses_a_malformed_body(pull: Pull, body: bytes) -> None:
    await pull.connect("graphus")
    response = await pull.api.client.post(
        "/v1/modules/graphus/sync", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][0] == "body"


async def test_refused_credentials_fail_at_once(pull: Pull) -> None:
    await pull.connect("graphus")
    pull.simulator.token = "rotated"  # the module revoked the token after it was saved
    sync = await pull.sync_now("graphus", YESTERDAY)
    assert (sync["status"], sync["attempts"], sync["next_attempt_at"]) == ("failed", 1, None)
    assert "refused the credentials" in sync["error"]
    assert await pull.stored("graphus", YESTERDAY) == 0


async def test_failed_attempts_are_retried_with_backoff(pull: Pull) -> None:
    await pull.connect("vulscan")
    pull.simulator.fail("vulscan", YESTERDAY, times=2)
    assert await pull.syncer.tick() == 1
    [sync] = await pull.syncs("vulscan")
    assert (sync["status"], sync["attempts"]) == ("retrying", 1)
    assert "HTTP 500" in sync["error"]
    assert datetime.fromisoformat(sync["next_attempt_at"]) == pull.clock.now + timedelta(seconds=60)
    assert await pull.syncer.tick() == 0  # not before the backoff passed
    pull.clock.advance(seconds=60)
    assert await pull.syncer.tick() == 1
    [sync] = await pull.syncs("vulscan")
    assert (sync["status"], sync["attempts"]) == ("retrying", 2)
    assert datetime.fromisoformat(sync["next_attempt_at"]) == pull.clock.now + timedelta(
        seconds=120
    )
    pull.clock.advance(seconds=120)
    assert await pull.syncer.tick() == 1
    [sync] = await pull.syncs("vulscan")
    assert (sync["status"], sync["attempts"], sync["error"]) == ("succeeded", 3, None)
    assert sync["records"] == len(pull.simulator.items("vulscan", YESTERDAY))


async def test_attempts_run_out(pull: Pull) -> None:
    await pull.connect("vulscan")
    pull.simulator.fail("vulscan", YESTERDAY)
    for _ in range(5):
        assert await pull.syncer.tick() == 1
        pull.clock.advance(hours=2)
    assert await pull.syncer.tick() == 0
    [sync] = await pull.syncs("vulscan")
    assert (sync["status"], sync["attempts"], sync["next_attempt_at"]) == ("failed", 5, None)


async def test_a_day_failing_midway_stores_nothing_of_it(pull: Pull) -> None:
    await pull.connect("datto_rmm")
    pull.simulator.fail("datto_rmm", YESTERDAY, from_page=2)
    sync = await pull.sync_now("datto_rmm", YESTERDAY)
    assert sync["status"] == "retrying"
    assert await pull.stored("datto_rmm", YESTERDAY) == 0


def _by_metric(items: list[dict[str, str]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        sums[item["metric"]] += Decimal(item["quantity"])
    return dict(sums)


async def _units(pull: Pull, module: str, start: date, end: date) -> dict[tuple[str, str], Any]:
    response = await pull.api.client.get(
        "/v1/usage",
        params={"module": module, "from": start.isoformat(), "to": end.isoformat(), "limit": 1000},
    )
    assert response.status_code == 200, response.text
    return {
        (r["date"], r["metric"]): (Decimal(r["quantity"]), r["estimated"])
        for r in response.json()["items"]
    }


async def test_a_missed_day_is_estimated_then_replaced_when_it_arrives(pull: Pull) -> None:
    module = "dark_web_id"
    client = pull.api.client
    first, second, missed = YESTERDAY - timedelta(days=2), YESTERDAY - timedelta(days=1), YESTERDAY
    await pull.connect(module)
    for day in (first, second):
        assert (await pull.sync_now(module, day))["status"] == "succeeded"
    pull.simulator.fail(module, missed)
    failed = await pull.sync_now(module, missed)
    assert failed["status"] == "retrying" and await pull.stored(module, missed) == 0
    await pull.api.settle()

    company = (await client.post("/v1/companies", json={"name": "All of them"})).json()["id"]
    org_ids = {
        item["org_id"]
        for day in (first, second, missed)
        for item in pull.simulator.items(module, day)
    }
    for org_id in org_ids:
        response = await client.put(
            f"/v1/module-orgs/{module}/{org_id}/mapping", json={"company_id": company}
        )
        assert response.status_code == 200, response.text
    await pull.api.settle()

    estimated = _by_metric(pull.simulator.items(module, second))
    units = await _units(pull, module, first, missed)
    for metric, quantity in estimated.items():
        assert units[(missed.isoformat(), metric)] == (quantity, True)
        assert units[(second.isoformat(), metric)] == (quantity, False)

    pull.simulator.heal()
    late = await pull.sync_now(module, missed)
    assert late["status"] == "succeeded"
    await pull.api.settle()
    actual = _by_metric(pull.simulator.items(module, missed))
    units = await _units(pull, module, first, missed)
    for metric, quantity in actual.items():
        assert units[(missed.isoformat(), metric)] == (quantity, False)
    # The earlier sync of the day needs no more attempts.
    statuses = {s["id"]: s["status"] for s in await pull.syncs(module)}
    assert statuses[failed["id"]] == "superseded"


async def test_sync_history_pages_and_filters(pull: Pull) -> None:
    await pull.connect("passly")
    days = [YESTERDAY - timedelta(days=i) for i in range(5)]
    for day in days:
        await pull.sync_now("passly", day)
    client = pull.api.client
    first = (await client.get("/v1/modules/passly/syncs", params={"limit": 3})).json()
    assert [s["date"] for s in first["items"]] == [d.isoformat() for d in days[:3]]
    rest = (
        await client.get(
            "/v1/modules/passly/syncs", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [s["date"] for s in rest["items"]] == [d.isoformat() for d in days[3:]]
    assert rest["next_cursor"] is None
    window = (
        await client.get(
            "/v1/modules/passly/syncs",
            params={"from": days[3].isoformat(), "to": days[1].isoformat()},
        )
    ).json()
    assert [s["date"] for s in window["items"]] == [d.isoformat() for d in days[1:4]]
