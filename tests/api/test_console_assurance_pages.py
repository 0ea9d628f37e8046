"""The console's Reconciliation and Webhooks pages on both backends, without a browser: a
vendor bill CSV uploaded (refused with the line and column at fault, then recorded), roles,
and a webhook endpoint created with its secret shown once, refused input next to its field,
and deleted."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from tests.api.test_console_pages import CSRF, issue, sign_in
from tests.api.test_invoicing_support import embedded_with

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi, EmbeddedApiFactory

PERIOD = "2026-10"
HEADER = "module,period,currency,metric,quantity,unit_cost\n"
FIELD_ERROR = 'id="vendor-bill-bill_csv-error"'


def browser_of(api: EmbeddedApi) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app), base_url="http://icb.test"
    )


async def _upload(browser: httpx.AsyncClient, token: str, csv: str) -> str:
    answer = await browser.post(
        "/console/vendor-bills",
        data={"csrf_token": token, "back": f"/console/reconciliation?period={PERIOD}"},
        files={"bill_csv": ("bill.csv", csv.encode(), "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/reconciliation?period={PERIOD}"
    return (await browser.get(answer.headers["location"])).text


async def _bills(api: EmbeddedApi) -> list[dict[str, object]]:
    found = await api.client.get("/v1/vendor-bills", params={"period": PERIOD})
    return list(found.json()["items"])


async def test_a_vendor_bill_is_uploaded_from_the_reconciliation_page(
    embedded_api: EmbeddedApi,
) -> None:
    usage = {
        "records": [
            {
                "module": "datto_rmm",
                "org_id": f"o-{day}",
                "org_name": "Contoso",
                "metric": "servers",
                "date": f"{PERIOD}-{day:02d}",
                "quantity": "31",
            }
            for day in (1,)
        ]
    }
    assert (await embedded_api.client.post("/v1/usage", json=usage)).status_code == 200
    await embedded_api.settle()
    async with browser_of(embedded_api) as browser:
        token = await sign_in(browser, embedded_api.key)
        page = (await browser.get(f"/console/reconciliation?period={PERIOD}")).text
        assert 'aria-label="Reconciliation of 2026-10"' in page
        assert "servers" in page and "no bill" in page
        assert ">Upload vendor bill</button>" in page

        refused = await _upload(browser, token, HEADER + "datto_rmm,2026-10,EUR,servers,-3,4.50\n")
        assert FIELD_ERROR in refused
        assert "Line 2, column quantity:" in refused
        assert "nothing changed" in refused
        header = await _upload(browser, token, "module,month\ndatto_rmm,2026-10\n")
        assert "The first line (the column names): unknown column(s) &#39;month&#39;" in header
        empty = await _upload(browser, token, "")
        assert "Choose a CSV file of the vendor&#39;s bill." in empty
        assert await _bills(embedded_api) == []

        done = await _upload(browser, token, HEADER + "datto_rmm,2026-10,EUR,servers,2,4.50\n")
        assert "Vendor bill recorded: datto_rmm 2026-10 (1 line, EUR)." in done
        assert FIELD_ERROR not in done
        [bill] = await _bills(embedded_api)
        assert bill["module"] == "datto_rmm"
        row = re.search(r'<th scope="row" data-label="Module">.*?</tr>', done, re.S)
        assert row is not None
        assert '<td data-label="Vendor bill" class="num">2</td>' in row.group(0)
        assert '<td data-label="Usage" class="num">1</td>' in row.group(0)  # 31 / 31 days
        assert "num attention" in row.group(0)  # unmapped org and the difference

        forged = await browser.post(
            "/console/vendor-bills",
            data={"csrf_token": "forged"},
            files={"bill_csv": ("bill.csv", b"x", "text/csv")},
        )
        assert forged.status_code == 403

        browser.cookies.clear()
        viewer_token = await sign_in(browser, await issue(embedded_api, "viewer"))
        page = (await browser.get(f"/console/reconciliation?period={PERIOD}")).text
        assert "Upload vendor bill" not in page and 'type="file"' not in page
        shown = await _upload(
            browser, viewer_token, HEADER + "datto_rmm,2026-10,EUR,servers,9,4.50\n"
        )
        assert "role" in shown
        [bill] = await _bills(embedded_api)
        assert bill["lines"] == [{"metric": "servers", "quantity": "2.0000", "unit_cost": "4.50"}]

        wrong = await browser.get("/console/reconciliation?period=2026-13")
        assert wrong.status_code == 200 and 'id="period-error"' in wrong.text


async def test_a_webhook_endpoint_is_created_with_its_secret_shown_once_and_deleted(
    make_embedded_api: EmbeddedApiFactory,
) -> None:
    async with (
        embedded_with(make_embedded_api, webhook_allow_private=True) as billing,
        browser_of(billing.api) as browser,
    ):
        api = billing.api
        token = await sign_in(browser, api.key)
        page = (await browser.get("/console/webhooks")).text
        assert "No webhook endpoints yet." in page
        assert 'name="event:invoice.posted" checked' in page
        assert 'name="event:payment.recorded"' in page

        async def create(**form: str) -> str:
            answer = await browser.post("/console/webhooks", data={"csrf_token": token, **form})
            assert answer.status_code == 303
            return (await browser.get(answer.headers["location"])).text

        none = await create(url="http://127.0.0.1:9/hook")
        assert 'id="webhook-create-events-error"' in none
        assert 'value="http://127.0.0.1:9/hook"' in none
        bad = await create(url="ftp://example.com/x", **{"event:invoice.posted": "on"})
        assert 'id="webhook-create-url-error"' in bad and 'aria-invalid="true"' in bad
        assert (await api.client.get("/v1/webhooks")).json()["items"] == []

        made = await create(
            url="http://127.0.0.1:9/hook",
            description="ledger",
            **{"event:invoice.posted": "on", "event:payment.recorded": "on"},
        )
        [endpoint] = (await api.client.get("/v1/webhooks")).json()["items"]
        assert endpoint["events"] == ["invoice.posted", "payment.recorded"]
        secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made)
        assert secret is not None and "Signing secret: copy it now" in made
        again = (await browser.get("/console/webhooks")).text
        assert "whsec_" not in again and "http://127.0.0.1:9/hook" in again

        log = await browser.get(f"/console/webhooks/{endpoint['id']}")
        assert log.status_code == 200 and "No events were sent to this endpoint yet." in log.text
        missing = await browser.get("/console/webhooks/nope")
        assert missing.status_code == 404

        browser.cookies.clear()
        await sign_in(browser, await issue(api, "billing"))
        assert (
            "Only an admin key may manage webhooks."
            in (await browser.get("/console/webhooks")).text
        )
        browser.cookies.clear()
        token = await sign_in(browser, api.key)
        page = (await browser.get("/console/webhooks")).text
        token = CSRF.findall(page)[0]
        gone = await browser.post(
            f"/console/webhooks/{endpoint['id']}/delete", data={"csrf_token": token}
        )
        assert (
            "The webhook endpoint is deleted" in (await browser.get(gone.headers["location"])).text
        )
        assert (await api.client.get("/v1/webhooks")).json()["items"] == []


async def test_insights_page_lists_the_webhook_kind(
    embedded_api: EmbeddedApi,
) -> None:
    async with browser_of(embedded_api) as browser:
        await sign_in(browser, embedded_api.key)
        page = (await browser.get("/console/insights")).text
    assert '<option value="webhook_endpoint_disabled">webhook endpoint disabled</option>' in page
    assert 'href="/console/reconciliation"' in page and 'href="/console/webhooks"' in page
