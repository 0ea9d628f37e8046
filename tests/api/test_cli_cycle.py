"""The monthly cycle from the command line against the embedded system: a billing run (also
one that answers 202 and is followed), posting a period's drafts, the period export, problems
as one line, and ``icb`` itself against a real server."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from launcher.cli import main
from launcher.client import ApiClient, ApiConfig, ApiError
from launcher.cycle import billing_run, export_period, post_invoices, run_line
from tests.api.test_invoicing_support import InvoicingApi, day, latest_month, service, steps
from tests.support.stack import free_port
from tools.demo import load_sample, seller_profile
from tools.sample import generate

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi, EmbeddedApiFactory

PERIOD = latest_month(30)


def _client(api: EmbeddedApi) -> ApiClient:
    return ApiClient(
        ApiConfig("http://icb.test", api.key), transport=httpx.ASGITransport(app=api.system.app)
    )


async def _billed_company(billing: InvoicingApi, name: str = "Contoso Ltd") -> str:
    """A company with 5 servers all month at 2.00 (one invoice of 300.00 for PERIOD), and
    the seller profile posting needs."""
    if not billing.seller_set:
        await billing.seller()
    company = await billing.company(name)
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((30, 5)))
    await billing.contract(company, [service("RMM-SRV", "2.00")], start=day(PERIOD, 1))
    await billing.api.settle()
    return company


@pytest.fixture
async def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def test_a_billing_run_answers_its_result(billing: InvoicingApi) -> None:
    await _billed_company(billing)
    async with _client(billing.api) as api:
        result = await billing_run(api, PERIOD)
    assert (result["period"], result["invoices"], result["created"]) == (PERIOD, 1, 1)
    assert run_line(result).startswith(f"Billing run {result['id']} for {PERIOD}: 1 invoices")


async def test_a_billing_run_answered_202_is_followed_to_its_result(
    make_embedded_api: EmbeddedApiFactory,
) -> None:
    async with make_embedded_api(billing_run_wait_seconds=0) as embedded:
        billing = InvoicingApi(embedded)
        await _billed_company(billing)
        answer = await embedded.client.post("/v1/billing-runs", json={"period": PERIOD})
        assert answer.status_code == 202, answer.text  # what the command must follow
        async with _client(embedded) as api:
            result = await billing_run(api, PERIOD, poll=0.05)
    assert (result["period"], result["invoices"]) == (PERIOD, 1)


async def test_posting_a_period_posts_invoices_and_leaves_corrections_unless_all(
    billing: InvoicingApi,
) -> None:
    first = await _billed_company(billing, "Contoso Ltd")
    await _billed_company(billing, "Fabrikam GmbH")
    await billing.run(PERIOD)
    async with _client(billing.api) as api:
        posted = await post_invoices(api, PERIOD)
        assert sorted(i["number"] for i in posted.posted) == [1, 2]
        assert posted.lines()[0] == f"Posted 2 drafts of {PERIOD} (numbers 1-2)."
        # late usage of the posted period: an adjustment in draft
        await billing.usage(first, "datto_rmm", "servers", day(PERIOD, 1), steps((30, 6)))
        await billing.run(PERIOD)
        left = await post_invoices(api, PERIOD)
        assert (left.posted, left.corrections_left) == ([], 1)
        assert "--all posts them too" in "\n".join(left.lines())
        every = await post_invoices(api, PERIOD, include_all=True)
    assert [(i["kind"], i["number"]) for i in every.posted] == [("adjustment", 3)]


async def test_the_export_has_the_posted_documents(billing: InvoicingApi) -> None:
    await _billed_company(billing)
    await billing.run(PERIOD)
    async with _client(billing.api) as api:
        await post_invoices(api, PERIOD)
        rows = list(csv.DictReader(io.StringIO((await export_period(api, "csv", PERIOD)).decode())))
        document = json.loads(await export_period(api, "json", PERIOD))
    assert rows and {r["service_code"] for r in rows} == {"RMM-SRV"}
    assert [i["number"] for i in document["invoices"]] == [1]


async def test_the_export_writes_bookkeeping_imports(billing: InvoicingApi) -> None:
    await _billed_company(billing)
    await billing.run(PERIOD)
    settings = {"default_revenue_account": "8400", "tax_codes": {"0": "0"}}
    assert (await billing.client.put("/v1/accounting/settings", json=settings)).status_code == 200
    async with _client(billing.api) as api:
        await post_invoices(api, PERIOD)
        xero = list(
            csv.DictReader(io.StringIO((await export_period(api, "xero", PERIOD)).decode()))
        )
        quickbooks = (await export_period(api, "quickbooks", PERIOD)).decode()
    year = xero[0]["*InvoiceDate"][-4:]
    assert [(r["*InvoiceNumber"], r["*AccountCode"]) for r in xero] == [
        (f"INV-{year}-00001", "8400")
    ]
    assert quickbooks.startswith("*InvoiceNo,*Customer,")


async def test_a_refused_call_is_one_line_with_the_problem(billing: InvoicingApi) -> None:
    async with _client(billing.api) as api:
        with pytest.raises(ApiError) as refused:
            await api.call("POST", "/v1/billing-runs", json={"period": "2026-13"})
        message = str(refused.value)
        assert message.startswith("POST /v1/billing-runs: 422 ")
        assert "period" in message and "\n" not in message
        api.http.headers["Authorization"] = "Bearer wrong"
        with pytest.raises(ApiError, match=r": 401 "):
            await billing_run(api, PERIOD)


async def test_the_demo_seller_profile_is_accepted(billing: InvoicingApi) -> None:
    profile = seller_profile(generate(seed=3, companies=2, period=PERIOD))
    answer = await billing.client.put("/v1/seller-profile", json=profile)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == profile["name"]


@pytest.fixture
async def served(embedded_api: EmbeddedApi) -> AsyncIterator[str]:
    """The embedded system (already started) behind a real server."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(embedded_api.system.app, port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_icb_runs_the_cycle_against_a_configured_api(
    billing: InvoicingApi,
    served: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    await _billed_company(billing)
    monkeypatch.setenv("ICB_API_URL", served)
    monkeypatch.setenv("ICB_API_KEY", billing.api.key)

    def icb(*argv: str) -> Any:
        return asyncio.to_thread(main, list(argv))

    assert await icb("billing", "run", "--period", PERIOD) == 0
    assert await icb("invoices", "post", "--period", PERIOD) == 0
    out = tmp_path / "export.csv"
    assert await icb("export", "csv", "--period", PERIOD, "--output", str(out)) == 0
    printed = capfd.readouterr().out.splitlines()
    assert printed[0].startswith("Billing run ") and f"for {PERIOD}: 1 invoices" in printed[0]
    assert printed[1] == f"Posted 1 drafts of {PERIOD} (numbers 1-1)."
    assert "RMM-SRV" in out.read_text()

    monkeypatch.setenv("ICB_API_KEY", "icb_wrong")
    assert await icb("billing", "run", "--period", PERIOD) == 1
    error = capfd.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("icb: POST /v1/billing-runs: 401 ")


async def test_the_demo_loads_with_progress_and_a_seller_profile(embedded_api: EmbeddedApi) -> None:
    msp = generate(seed=5, companies=2, period=PERIOD)
    async with _client(embedded_api) as api:
        loaded = await load_sample(api, embedded_api.system, msp, None)
        profile = await api.json("GET", "/v1/seller-profile")
        bills = await api.json("GET", "/v1/vendor-bills", params={"period": PERIOD})
        rows = await api.json("GET", "/v1/reconciliation", params={"period": PERIOD})
    assert profile["name"] == msp.msp_name
    assert loaded.startswith(f"Loaded 2 companies, 2 contracts, {len(list(msp.records()))} usage")
    assert f"{len(bills['items'])} vendor bills of {PERIOD}" in loaded
    assert {b["module"] for b in bills["items"]} == {r.module for r in msp.records()}
    # The vendor counts every org's usage, as the reconciliation does.
    assert rows["items"] and all(r["difference"] == "0.0000" for r in rows["items"])
