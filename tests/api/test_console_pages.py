"""The console on both backends, without a browser: the sign-in exchange, every page for
each role, CSRF, a mapping and a refused write, through the embedded system's gateway."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.gateway import app as gateway_app
from services.gateway import models
from services.gateway.settings import GatewaySettings
from shared.db import create_engine, sqlite_url
from tests.conftest import EmbeddedApi

PAGES = (
    "/console/",
    "/console/modules",
    "/console/mapping",
    "/console/mapping/grid",
    "/console/mapping/services",
    "/console/contracts",
    "/console/invoices",
    "/console/receivables",
    "/console/contracts/new",
    "/console/reconciliation",
    "/console/webhooks",
    "/console/insights",
    "/console/audit",
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRITE_BUTTON = re.compile(
    r"<button[^>]*>(Map|Exclude|Auto-map|Sync now|Save|Post|Void|Upload vendor bill"
    r"|Release hold|Add endpoint|Delete|Retry|Unmap|Create contract|Save changes|Add amendment"
    r"|Apply credit|Refund|Reverse payment)"
    r"</button>"
)


@pytest.fixture
async def browser(embedded_api: EmbeddedApi) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client without the API key header, as a browser is."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=embedded_api.system.app), base_url="http://icb.test"
    ) as client:
        yield client


async def sign_in(browser: httpx.AsyncClient, key: str) -> str:
    """Signs in; the session's CSRF token."""
    form = await browser.get("/console/sign-in")
    token = CSRF.search(form.text)
    assert token is not None
    answer = await browser.post(
        "/console/sign-in", data={"csrf_token": token.group(1), "api_key": key}
    )
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    page = await browser.get("/console/")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def issue(api: EmbeddedApi, role: str) -> str:
    made = await api.client.post("/v1/api-keys", json={"name": role, "role": role})
    assert made.status_code == 201
    key: str = made.json()["key"]
    return key


async def test_root_and_pages_send_strangers_to_the_sign_in(browser: httpx.AsyncClient) -> None:
    root = await browser.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    for path in PAGES:
        answer = await browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/sign-in?next=")
    form = await browser.get("/console/sign-in")
    assert '<label for="api_key">API key</label>' in form.text
    assert "http://" not in form.text and "https://" not in form.text


async def test_every_page_answers_for_an_admin_and_a_viewer_sees_no_write_buttons(
    embedded_api: EmbeddedApi, browser: httpx.AsyncClient
) -> None:
    await embedded_api.client.post("/v1/companies", json={"name": "Contoso Ltd"})
    usage = {
        "records": [
            {
                "module": "datto_rmm",
                "org_id": "c-1",
                "org_name": "CONTOSO LIMITED",
                "metric": "total_devices",
                "date": "2026-11-01",
                "quantity": "3",
            }
        ]
    }
    assert (await embedded_api.client.post("/v1/usage", json=usage)).status_code == 200
    await embedded_api.settle()
    await sign_in(browser, embedded_api.key)
    for path in PAGES:
        answer = await browser.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    queue = await browser.get("/console/mapping")
    assert "CONTOSO LIMITED" in queue.text and ">Map</button>" in queue.text

    viewer = await issue(embedded_api, "viewer")
    browser.cookies.clear()
    await sign_in(browser, viewer)
    for path in PAGES:
        answer = await browser.get(path)
        assert answer.status_code == 200, path
        assert not WRITE_BUTTON.search(answer.text), (path, WRITE_BUTTON.search(answer.text))
    assert (
        "Only an admin key may read the audit trail." in (await browser.get("/console/audit")).text
    )


async def test_a_mapping_through_the_console_needs_the_session_token_and_a_writing_role(
    embedded_api: EmbeddedApi, browser: httpx.AsyncClient
) -> None:
    company = (await embedded_api.client.post("/v1/companies", json={"name": "Fabrikam"})).json()
    usage = {
        "records": [
            {
                "module": "graphus",
                "org_id": "f-1",
                "org_name": "Fabrikam Inc",
                "metric": "mailboxes",
                "date": "2026-11-01",
                "quantity": "7",
            }
        ]
    }
    assert (await embedded_api.client.post("/v1/usage", json=usage)).status_code == 200
    await embedded_api.settle()
    form = {
        "module": "graphus",
        "org_id": "f-1",
        "org_name": "Fabrikam Inc",
        "company_id": company["id"],
        "action": "map",
    }

    viewer = await issue(embedded_api, "viewer")
    token = await sign_in(browser, viewer)
    refused = await browser.post("/console/mapping/org", data={**form, "csrf_token": token})
    assert refused.status_code == 303
    shown = await browser.get(refused.headers["location"])
    assert "role" in shown.text and "viewer" in shown.text
    orgs = (await embedded_api.client.get("/v1/module-orgs", params={"status": "unmapped"})).json()
    assert [o["org_id"] for o in orgs["items"]] == ["f-1"]

    browser.cookies.clear()
    token = await sign_in(browser, await issue(embedded_api, "billing"))
    forged = await browser.post("/console/mapping/org", data={**form, "csrf_token": "x" + token})
    assert forged.status_code == 403
    orgs = (await embedded_api.client.get("/v1/module-orgs", params={"status": "unmapped"})).json()
    assert len(orgs["items"]) == 1

    done = await browser.post("/console/mapping/org", data={**form, "csrf_token": token})
    assert done.status_code == 303
    assert "Fabrikam Inc (graphus) is mapped." in (await browser.get(done.headers["location"])).text
    mapped = await embedded_api.client.get(f"/v1/companies/{company['id']}/module-orgs")
    assert [o["org_id"] for o in mapped.json()["items"]] == ["f-1"]
    audit = (await embedded_api.client.get("/v1/audit", params={"limit": 1000})).json()["items"]
    assert any(e["path"] == "/v1/module-orgs/graphus/f-1/mapping" for e in audit)


async def test_an_ingest_key_or_an_unknown_key_does_not_sign_in(
    embedded_api: EmbeddedApi, browser: httpx.AsyncClient
) -> None:
    for key, status, words in (
        (await issue(embedded_api, "ingest"), 403, "may only send usage"),
        ("icb_0000_unknown", 401, "unknown or revoked"),
    ):
        form = await browser.get("/console/sign-in")
        token = CSRF.search(form.text)
        assert token is not None
        answer = await browser.post(
            "/console/sign-in", data={"csrf_token": token.group(1), "api_key": key}
        )
        assert answer.status_code == status and words in answer.text
        assert "icb_console=" not in answer.headers.get("set-cookie", "")


async def test_the_full_stack_gateway_serves_the_console_too(tmp_path: Path) -> None:
    """The gateway as ``icb serve gateway`` builds it (no service behind it is needed for the
    sign-in page and the console's own files)."""
    settings = GatewaySettings(environment="test")
    engine = create_engine(sqlite_url(tmp_path, "gateway"), models.SCHEMA)
    runtime = gateway_app.build_runtime(settings, engine)
    app = gateway_app.create_app(runtime, manage_runtime=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://icb.test"
        ) as client:
            assert (await client.get("/")).headers["location"] == "/console/"
            assert (
                '<label for="api_key">API key</label>'
                in (await client.get("/console/sign-in")).text
            )
            css = await client.get("/console/static/console.css")
            assert css.status_code == 200 and "text/css" in css.headers["content-type"]
            script = await client.get("/console/static/console.js")
            assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    finally:
        await engine.dispose()


async def test_a_billing_run_from_the_invoices_page_and_a_period_in_the_future(
    embedded_api: EmbeddedApi, browser: httpx.AsyncClient
) -> None:
    company = (await embedded_api.client.post("/v1/companies", json={"name": "Tailspin"})).json()
    contract = {
        "company_id": company["id"],
        "name": "Managed",
        "start_date": "2026-01-01",
        "currency": "EUR",
        "services": [{"service_code": "RMM", "name": "Device", "unit_price": "2.00"}],
    }
    assert (await embedded_api.client.post("/v1/contracts", json=contract)).status_code == 201
    token = await sign_in(browser, embedded_api.key)
    page = await browser.get("/console/invoices")
    assert ">Run billing</button>" in page.text
    ran = await browser.post(
        "/console/billing-runs", data={"csrf_token": token, "period": "2026-02"}
    )
    assert ran.status_code == 303
    shown = await browser.get(ran.headers["location"])
    assert "Billing run for 2026-02: 1 invoices" in shown.text
    assert "Tailspin" in shown.text
    refused = await browser.post(
        "/console/billing-runs", data={"csrf_token": token, "period": "2026-13"}
    )
    shown = await browser.get(refused.headers["location"])
    assert 'id="billing-run-period-error"' in shown.text
    listed = await embedded_api.client.get("/v1/invoices")
    assert [i["period"] for i in listed.json()["items"]] == ["2026-02"]
