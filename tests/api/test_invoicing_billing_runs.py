"""Billing runs as durable jobs through the API: the result within the wait (201), otherwise
202 with the run's URL and its progress there; one run per tenant and period at a time; the
problem a failed run raised reaches the client as the request's answer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from services.invoicing.runs import jobs as run_jobs
from shared.problems import Conflict
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    embedded_with,
    latest_month,
    ok,
    service,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi, EmbeddedApiFactory

PERIOD = latest_month(30)
MODULE, METRIC = "datto_rmm", "servers"
RUN_FIELDS = {"id", "period", "invoices", "corrections", "created", "updated", "status"}


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def two_companies(api: InvoicingApi) -> None:
    await api.feed(MODULE, METRIC, "SRV")
    for name in ("Contoso", "Fabrikam"):
        company = await api.company(name)
        await api.usage(company, MODULE, METRIC, day(PERIOD, 1), [3] * 30)
        await api.contract(company, [service("SRV", "2.00")], start=day(PERIOD, 1))
    await api.api.settle()


async def finished(api: InvoicingApi, url: str, seconds: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            state: dict[str, Any] = ok(await api.client.get(url))
            if state["status"] in ("succeeded", "failed"):
                return state
            await asyncio.sleep(0.05)


async def test_a_run_that_finishes_within_the_wait_answers_its_result(
    billing: InvoicingApi,
) -> None:
    await two_companies(billing)
    run = ok(await billing.client.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    assert set(run) == RUN_FIELDS
    assert (run["period"], run["invoices"], run["created"], run["status"]) == (
        PERIOD,
        2,
        2,
        "succeeded",
    )

    state = ok(await billing.client.get(f"/v1/billing-runs/{run['id']}"))
    assert state["status"] == "succeeded" and state["result"] == run
    assert (state["companies_billed"], state["companies_total"], state["attempts"]) == (2, 2, 1)
    assert state["problem"] is None and state["finished_at"] is not None

    again = ok(await billing.client.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    assert again["id"] != run["id"]  # a finished run is not answered for a new one
    assert (again["created"], again["updated"]) == (0, 0)


async def test_a_run_still_going_after_the_wait_answers_202_and_its_url(
    make_embedded_api: EmbeddedApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real = run_jobs.run_billing

    async def held(*args: Any, **options: Any) -> Any:
        await release.wait()
        return await real(*args, **options)

    monkeypatch.setattr(run_jobs, "run_billing", held)
    async with embedded_with(make_embedded_api, billing_run_wait_seconds=0) as api:
        await two_companies(api)
        first = await api.client.post("/v1/billing-runs", json={"period": PERIOD})
        second = await api.client.post("/v1/billing-runs", json={"period": PERIOD})
        other = await api.client.post(
            "/v1/billing-runs", json={"period": day(PERIOD, 1).replace(year=2020).strftime("%Y-%m")}
        )
        accepted = ok(first, 202)
        assert first.headers["location"] == f"/v1/billing-runs/{accepted['id']}"
        assert accepted["status"] in ("queued", "running")
        assert (accepted["period"], accepted["result"], accepted["problem"]) == (PERIOD, None, None)
        assert ok(second, 202)["id"] == accepted["id"]  # one run of a period at a time
        assert ok(other, 202)["id"] != accepted["id"]

        release.set()
        state = await finished(api, first.headers["location"])
        assert state["status"] == "succeeded"
        assert (state["companies_billed"], state["companies_total"]) == (2, 2)
        result = state["result"]
        assert set(result) == RUN_FIELDS and result["id"] == accepted["id"]
        assert (result["invoices"], result["created"], result["updated"]) == (2, 2, 0)
        assert len(await api.documents(PERIOD)) == 2

        missing = ok(await api.client.get("/v1/billing-runs/no-such-run"), 404)
        assert missing["status"] == 404
        async with await api.api.new_tenant() as stranger:
            ok(await stranger.get(first.headers["location"]), 404)


async def test_a_run_that_fails_answers_its_problem(
    billing: InvoicingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **options: Any) -> Any:
        raise Conflict("the period is being closed")

    monkeypatch.setattr(run_jobs, "run_billing", refused)
    response = await billing.client.post("/v1/billing-runs", json={"period": PERIOD})
    problem = ok(response, 409)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (problem["status"], problem["detail"], problem["type"]) == (
        409,
        "the period is being closed",
        "/problems/conflict",
    )

    async def broken(*args: Any, **options: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_jobs, "run_billing", broken)
    # As an unexpected error in the request did: invoicing answers 500, the gateway 502.
    failed = ok(await billing.client.post("/v1/billing-runs", json={"period": PERIOD}), 502)
    assert "disk on fire" not in failed["detail"]


async def test_the_problem_of_a_failed_run_shows_at_its_url(
    make_embedded_api: EmbeddedApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **options: Any) -> Any:
        raise Conflict("the period is being closed")

    monkeypatch.setattr(run_jobs, "run_billing", refused)
    async with embedded_with(make_embedded_api, billing_run_wait_seconds=0) as api:
        response = await api.client.post("/v1/billing-runs", json={"period": PERIOD})
        ok(response, 202)
        state = await finished(api, response.headers["location"])
        assert state["status"] == "failed" and state["result"] is None
        assert (state["problem"]["status"], state["problem"]["detail"]) == (
            409,
            "the period is being closed",
        )
