"""The module simulator: the paged API per module, its token, and planned failures."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from shared.catalog import CATALOG
from tools.simulator import SimulatorState, create_app
from tools.simulator.serve import parse_failure

DAY = date(2026, 10, 3)  # a Saturday
AUTH = {"Authorization": "Bearer tok"}


@pytest.fixture(scope="module")
def state() -> SimulatorState:
    return SimulatorState(seed=5, companies=20, period="2026-10", token="tok", page_size=10)


def _client(state: SimulatorState) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url="http://sim"
    )


async def test_every_module_serves_the_generators_counts(state: SimulatorState) -> None:
    expected: dict[str, int] = {}
    for r in state.msp.records(DAY, DAY):
        expected[r.module] = expected.get(r.module, 0) + 1
    async with _client(state) as client:
        listed = (await client.get("/modules")).json()
        assert [m["module"] for m in listed] == list(CATALOG.module_ids)
        for module in CATALOG.module_ids:
            page = (
                await client.get(
                    f"/{module}/v1/usage", params={"date": DAY.isoformat()}, headers=AUTH
                )
            ).json()
            assert page["total"] == expected.get(module, 0)
            assert page["pages"] == max(1, -(-page["total"] // 10))
            assert len(page["items"]) == min(10, page["total"])


async def test_pages_cover_the_day_exactly_once(state: SimulatorState) -> None:
    items: list[dict[str, str]] = []
    page: int | None = 1
    async with _client(state) as client:
        while page is not None:
            body = (
                await client.get(
                    "/datto_rmm/v1/usage",
                    headers=AUTH,
                    params={"date": DAY.isoformat(), "page": page},
                )
            ).json()
            items.extend(body["items"])
            page = body["next_page"]
    assert items == state.items("datto_rmm", DAY)
    keys = {(i["org_id"], i["metric"]) for i in items}
    assert len(keys) == len(items)


async def test_token_module_and_date_are_checked(state: SimulatorState) -> None:
    async with _client(state) as client:
        params = {"date": DAY.isoformat()}
        assert (await client.get("/graphus/v1/usage", params=params)).status_code == 401
        assert (
            await client.get(
                "/graphus/v1/usage", params=params, headers={"Authorization": "Bearer nope"}
            )
        ).status_code == 401
        assert (await client.get("/nope/v1/usage", params=params, headers=AUTH)).status_code == 404
        assert (
            await client.get("/graphus/v1/usage", params={"date": "2026-13-01"}, headers=AUTH)
        ).status_code == 422


async def test_failures_by_day_count_and_page(state: SimulatorState) -> None:
    async def status(module: str, page: int = 1) -> int:
        response = await client.get(
            f"/{module}/v1/usage", headers=AUTH, params={"date": DAY.isoformat(), "page": page}
        )
        return response.status_code

    async with _client(state) as client:
        state.fail("graphus", DAY, times=2)
        assert [await status("graphus") for _ in range(3)] == [500, 500, 200]
        assert (await client.put(f"/_control/failures/*/{DAY}", headers=AUTH)).status_code == 204
        assert await status("vsa_10") == 500 and await status("graphus") == 500
        assert (await client.delete(f"/_control/failures/*/{DAY}", headers=AUTH)).status_code == 204
        assert await status("vsa_10") == 200
        state.fail("datto_rmm", DAY, from_page=2)
        assert await status("datto_rmm", 1) == 200 and await status("datto_rmm", 2) == 500
        assert (await client.delete("/_control/failures", headers=AUTH)).status_code == 204
        assert await status("datto_rmm", 2) == 200
        assert (await client.put(f"/_control/failures/graphus/{DAY}")).status_code == 401


def test_same_arguments_same_data() -> None:
    a = SimulatorState(seed=9, companies=6, period="2026-10")
    b = SimulatorState(seed=9, companies=6, period="2026-10")
    assert a.items("dark_web_id", DAY) == b.items("dark_web_id", DAY)


def test_parse_failure() -> None:
    assert parse_failure("datto_rmm:2026-10-03") == ("datto_rmm", DAY)
    assert parse_failure("*:2026-10-03") == ("*", DAY)
    for bad in ("datto_rmm", ":2026-10-03", "datto_rmm:yesterday"):
        with pytest.raises(ValueError):
            parse_failure(bad)
