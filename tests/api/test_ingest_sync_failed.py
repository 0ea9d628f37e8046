"""Insight ``sync_failed`` (PRODUCT.md section 11) through the gateway's merged
``GET /v1/insights``: critical while a module's latest sync of a day ended failed, gone once
a later sync of that day succeeds."""

from __future__ import annotations

from typing import Any

from tests.api.test_ingest_sync import YESTERDAY, Pull, pull  # noqa: F401 (fixture)
from tests.api.test_invoicing_support import ok


async def _insights(p: Pull, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await p.api.client.get("/v1/insights", params=params))["items"])


async def test_a_failed_sync_is_critical_until_that_day_syncs(pull: Pull) -> None:  # noqa: F811
    await pull.connect("graphus")
    pull.simulator.token = "rotated"
    failed = await pull.sync_now("graphus", YESTERDAY)
    assert failed["status"] == "failed"

    [insight] = await _insights(pull, kind="sync_failed")
    assert (insight["kind"], insight["severity"], insight["module"]) == (
        "sync_failed",
        "critical",
        "graphus",
    )
    assert insight["count"] == 1
    assert insight["items"][0]["day"] == YESTERDAY.isoformat()
    assert "refused the credentials" in insight["items"][0]["error"]
    assert "refused the credentials" in insight["message"]
    everything = await _insights(pull)
    assert everything[0]["severity"] == "critical"
    assert any(i["kind"] == "sync_failed" for i in everything)
    assert all(i["kind"] == "sync_failed" for i in await _insights(pull, kind="sync_failed"))

    pull.simulator.token = "sim-token"
    assert (await pull.sync_now("graphus", YESTERDAY))["status"] == "succeeded"
    assert await _insights(pull, kind="sync_failed") == []


async def test_kinds_of_several_services_in_one_filter(pull: Pull) -> None:  # noqa: F811
    await pull.connect("graphus")
    pull.simulator.token = "rotated"
    await pull.sync_now("graphus", YESTERDAY)
    kinds = {i["kind"] for i in await _insights(pull, kind="sync_failed,usage_anomaly")}
    assert kinds == {"sync_failed"}
    problem = ok(await pull.api.client.get("/v1/insights", params={"kind": "nope"}), 422)
    assert problem["errors"][0]["loc"] == ["query", "kind"]
