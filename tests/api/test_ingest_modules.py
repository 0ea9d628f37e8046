"""GET /v1/modules and PUT /v1/modules/{module}/billing: the catalog with each module's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from shared.catalog import CATALOG
from tests.support.scenario import ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

TODAY = datetime.now(UTC).date()


async def modules(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    return {m["module"]: m for m in ok(await client.get("/v1/modules"))["items"]}


async def test_the_catalog_with_billing_state_and_activity(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    listed = ok(await api.get("/v1/modules"))["items"]
    assert [m["module"] for m in listed] == list(CATALOG.module_ids)
    rmm = next(m for m in listed if m["module"] == "datto_rmm")
    assert rmm["name"] == "Datto RMM"
    assert [x["id"] for x in rmm["metrics"]] == [
        "total_devices",
        "desktops_laptops",
        "servers",
        "network_devices",
    ]
    azure = next(m for m in listed if m["module"] == "datto_azure_backup")
    assert {x["id"]: x["fractional"] for x in azure["metrics"]} == {
        "protected_vms": False,
        "storage_tb": True,
    }
    assert {
        (m["billing_enabled"], m["effective_from"], m["last_usage_date"], m["org_count"])
        for m in listed
    } == {(False, None, None, 0)}

    days = [TODAY - timedelta(days=d) for d in (1, 5)]
    records = [
        {
            "module": "graphus",
            "org_id": org,
            "org_name": org.upper(),
            "metric": "mailboxes",
            "date": day.isoformat(),
            "quantity": "4",
        }
        for org in ("a", "b", "c")
        for day in days
    ]
    ok(await api.post("/v1/usage", json={"records": records}))
    graphus = (await modules(api))["graphus"]
    assert (graphus["last_usage_date"], graphus["org_count"]) == (days[0].isoformat(), 3)
    async with await embedded_api.new_tenant() as other:
        assert (await modules(other))["graphus"]["org_count"] == 0


async def test_billing_state(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    start = (TODAY - timedelta(days=40)).isoformat()
    state = ok(
        await api.put(
            "/v1/modules/vulscan/billing", json={"enabled": True, "effective_from": start}
        )
    )
    assert (state["module"], state["billing_enabled"], state["effective_from"]) == (
        "vulscan",
        True,
        start,
    )
    assert (await modules(api))["vulscan"]["effective_from"] == start
    today = ok(await api.put("/v1/modules/passly/billing", json={"enabled": True}))
    assert today["effective_from"] == TODAY.isoformat()  # default: from today on
    off = ok(await api.put("/v1/modules/vulscan/billing", json={"enabled": False}))
    assert (off["billing_enabled"], off["effective_from"]) == (False, None)

    assert ok(await api.put("/v1/modules/nope/billing", json={"enabled": True}), 404)
    problem = ok(
        await api.put("/v1/modules/passly/billing", json={"enabled": True, "from": start}), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "from"]
    problem = ok(await api.put("/v1/modules/passly/billing", json={"enabled": "perhaps"}), 422)
    assert problem["errors"][0]["loc"] == ["body", "enabled"]
    assert (await modules(api))["passly"]["effective_from"] == TODAY.isoformat()
