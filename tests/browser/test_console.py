"""The console in a real browser: sign-in, navigation by accessible names, roles, mapping,
posting, CSRF, sign-out, charts, offline assets, and screenshots of every page."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.support.console_server import ConsoleServer

LOW_CONTRAST = (Path(__file__).parent / "contrast.js").read_text()
NAVIGATION = ("Overview", "Modules", "Mapping", "Contracts", "Invoices", "Insights", "Audit")
WRITE_BUTTONS = (
    "Sync now",
    "Map",
    "Exclude",
    "Auto-map",
    "Post",
    "Release hold",
    "Void",
    "Record payment",
    "Save",
)


def items(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(path, params={"limit": 1000, **params})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def a_draft(api: httpx.Client) -> dict[str, Any]:
    drafts = items(api, "/v1/invoices", status="draft")
    assert drafts, "the tenant has no draft left"
    return drafts[0]


def unmapped_with_suggestion(api: httpx.Client, skip: int = 0) -> dict[str, Any]:
    found = [o for o in items(api, "/v1/module-orgs", status="unmapped") if o["suggestions"]]
    assert len(found) > skip, "no unmapped org with a suggestion is left"
    return found[skip]


def test_sign_in_gives_an_http_only_strict_cookie_and_every_page_by_its_name(
    page: Page, context: BrowserContext, console: ConsoleServer
) -> None:
    page.goto(console.url + "/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    sign_in(page, console, "admin")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "icb_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert console.keys["admin"] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""
    for name in NAVIGATION:
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name=name, exact=True, level=1)).to_be_visible()
        expect(page.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("/v1/")


def test_a_wrong_key_is_refused_next_to_the_field(page: Page, console: ConsoleServer) -> None:
    page.goto(console.url + "/console/sign-in")
    page.get_by_label("API key").fill("icb_0000000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    field = page.get_by_label("API key")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#api_key-error")).to_have_text("This API key is unknown or revoked.")
    page.goto(console.url + "/console/modules")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Fmodules"))


def test_a_viewer_sees_no_write_buttons_and_the_gateway_still_refuses_a_write(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    draft = a_draft(api)
    sign_in(page, console, "viewer")
    expect(page.get_by_text("Signed in as viewer")).to_be_visible()
    pages = ("/console/", "/console/modules", "/console/mapping", "/console/mapping/services")
    for path in (*pages, f"/console/invoices/{draft['id']}"):
        page.goto(console.url + path)
        for name in WRITE_BUTTONS:
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("button", name="Download PDF")).to_be_visible()
    # A forged form with the viewer's own valid CSRF token: the API refuses the role.
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post(
        f"{console.url}/console/invoices/{draft['id']}/post",
        form={"csrf_token": token},
        max_redirects=0,
    )
    assert answer.status == 303
    page.goto(console.url + answer.headers["location"])
    expect(page.get_by_role("alert")).to_contain_text("role")
    assert api.get(f"/v1/invoices/{draft['id']}").json()["status"] == "draft"


def test_an_org_is_mapped_from_the_unmapped_queue(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    org = unmapped_with_suggestion(api)
    suggestion = org["suggestions"][0]
    sign_in(page, console, "billing", f"/console/mapping?module={org['module']}")
    row = page.get_by_role("row").filter(has_text=org["org_name"])
    expect(row.get_by_role("combobox")).to_have_value(suggestion["company_id"])
    row.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{org['org_name']} ({org['module']}) is mapped"
    )
    expect(page.get_by_role("row").filter(has_text=org["org_name"])).to_have_count(0)
    mapped = items(api, f"/v1/companies/{suggestion['company_id']}/module-orgs")
    assert (org["module"], org["org_id"]) in {(o["module"], o["org_id"]) for o in mapped}


def test_an_org_is_mapped_from_its_company_page_and_another_excluded(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    org = unmapped_with_suggestion(api)
    company_id = org["suggestions"][0]["company_id"]
    sign_in(page, console, "admin", f"/console/companies/{company_id}")
    page.get_by_label("Unmapped names containing").fill(org["org_name"])
    page.get_by_role("button", name="Search").click()
    candidate = page.get_by_role("listitem").filter(has_text=org["org_name"])
    candidate.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("is mapped")
    expect(page.get_by_role("region", name="Module organisations")).to_contain_text(org["org_name"])
    mapped = items(api, f"/v1/companies/{company_id}/module-orgs")
    assert org["org_id"] in {o["org_id"] for o in mapped}

    other = items(api, "/v1/module-orgs", status="unmapped")[0]
    page.goto(console.url + f"/console/mapping?module={other['module']}")
    page.get_by_role("row").filter(has_text=other["org_name"]).get_by_role(
        "button", name="Exclude"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("is excluded")
    excluded = items(api, "/v1/module-orgs", status="excluded", module=other["module"])
    assert other["org_id"] in {o["org_id"] for o in excluded}


def test_auto_map_shows_a_preview_before_it_maps(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    before = len(items(api, "/v1/module-orgs", status="unmapped"))
    sign_in(page, console, "billing", "/console/mapping")
    page.get_by_label("Minimum score (0 to 1)").fill("2")
    page.get_by_role("button", name="Auto-map").click()
    expect(page.locator("#min_score-error, .field-error, .form-error").first).to_be_visible()
    page.get_by_label("Minimum score (0 to 1)").fill("0.9")
    page.get_by_role("button", name="Auto-map").click()
    expect(page.get_by_role("heading", name="Auto-map preview")).to_be_visible()
    expect(page.get_by_text("Nothing has changed yet.")).to_be_visible()
    assert len(items(api, "/v1/module-orgs", status="unmapped")) == before


def test_a_draft_is_posted_paid_in_part_and_its_pdf_downloaded(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    draft = a_draft(api)
    seller = api.put("/v1/seller-profile", json={"name": "Console MSP", "payment_terms_days": 14})
    assert seller.status_code == 200, seller.text
    sign_in(page, console, "billing", "/console/invoices?status=draft")
    expect(page.get_by_role("columnheader", name="Hold")).to_be_visible()
    page.get_by_role("row").filter(has_text=draft["company_name"]).get_by_role("link").first.click()
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The invoice is posted.")
    posted = api.get(f"/v1/invoices/{draft['id']}").json()
    assert posted["status"] == "posted" and posted["number"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(posted["number"]))
    expect(page.get_by_role("button", name="Post", exact=True)).to_have_count(0)

    part = (Decimal(posted["balance"]) / 2).quantize(Decimal("0.01"))
    page.get_by_label(re.compile("^Amount")).fill(str(part))
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#payments-reference-error")).to_have_text("this field is required")
    expect(page.get_by_label("Reference")).to_have_attribute("aria-invalid", "true")
    page.get_by_label(re.compile("^Amount")).fill(str(part))
    page.get_by_label("Reference").fill("BANK-4711")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_have_text("The payment is recorded.")
    paid = api.get(f"/v1/invoices/{draft['id']}").json()
    assert Decimal(paid["balance"]) == Decimal(posted["balance"]) - part

    too_much = Decimal(paid["balance"]) + 1
    page.get_by_label(re.compile("^Amount")).fill(str(too_much))
    page.get_by_label("Reference").fill("BANK-4712")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert api.get(f"/v1/invoices/{draft['id']}").json()["balance"] == paid["balance"]

    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    path = download.value.path()
    assert path is not None and Path(path).read_bytes().startswith(b"%PDF")


def test_charts_are_drawn_and_a_line_opens_to_its_daily_explanation(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    sign_in(page, console, "viewer")
    usage = page.get_by_role("img", name=re.compile("Units per day, last 60 days"))
    expect(usage).to_be_visible()
    assert usage.locator("rect.bar").count() == 60
    invoice = items(api, "/v1/invoices")[0]
    detail = api.get(f"/v1/invoices/{invoice['id']}").json()
    page.goto(f"{console.url}/console/invoices/{invoice['id']}")
    first = page.locator("details.line").first
    chart = first.get_by_role("img")
    expect(chart.first).to_be_hidden()
    first.locator("summary").click()
    expect(chart.first).to_be_visible()
    explained = api.get(
        f"/v1/invoices/{invoice['id']}/lines/{detail['lines'][0]['id']}/explain"
    ).json()
    days = explained["sources"][0]["days"]
    assert chart.first.locator("rect.bar").count() == len(days)
    assert chart.first.locator("rect.estimated").count() == sum(d["estimated"] for d in days)
    expect(first).to_contain_text("Calculation:")


def test_a_form_without_the_session_token_is_refused_and_changes_nothing(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    draft = a_draft(api)
    sign_in(page, console, "admin")
    for token in ("", "forged-token"):
        answer = page.request.post(
            f"{console.url}/console/invoices/{draft['id']}/void",
            form={"csrf_token": token},
            max_redirects=0,
        )
        assert answer.status == 403
        assert "Nothing was changed" in answer.text()
    anonymous = page.request.post(
        f"{console.url}/console/sign-in", form={"api_key": console.keys["admin"]}
    )
    assert anonymous.status == 403
    assert api.get(f"/v1/invoices/{draft['id']}").json()["status"] == "draft"


def test_sign_out_ends_the_session(
    page: Page, context: BrowserContext, console: ConsoleServer
) -> None:
    sign_in(page, console, "billing", "/console/invoices")
    expect(page.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "icb_console"]
    page.goto(console.url + "/console/invoices")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))


def test_the_keyboard_reaches_the_skip_link_and_the_navigation(
    page: Page, console: ConsoleServer
) -> None:
    sign_in(page, console, "admin")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.goto(console.url + "/console/")
    for _ in range(3):  # skip link, brand, then the first navigation link
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Overview", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Modules", level=1)).to_be_visible()


def _every_page(console: ConsoleServer, api: httpx.Client) -> dict[str, str]:
    invoice = items(api, "/v1/invoices")[0]
    company = items(api, "/v1/companies")[0]
    contract = items(api, "/v1/contracts")[0]
    return {
        "overview": "/console/",
        "modules": "/console/modules",
        "mapping": "/console/mapping",
        "mapping-grid": "/console/mapping/grid",
        "service-mappings": "/console/mapping/services",
        "company": f"/console/companies/{company['id']}",
        "contracts": "/console/contracts",
        "contract": f"/console/contracts/{contract['id']}",
        "invoices": "/console/invoices",
        "invoice": f"/console/invoices/{invoice['id']}",
        "insights": "/console/insights",
        "audit": "/console/audit",
    }


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280", "390"])
def test_every_page_at_both_sizes_fits_passes_contrast_and_loads_only_from_the_host(
    browser: Browser,
    console: ConsoleServer,
    api: httpx.Client,
    screenshots: Path,
    size: dict[str, int],
) -> None:
    host = urlparse(console.url).netloc
    context = browser.new_context(viewport=size)
    outside: list[str] = []

    def leaving(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    # Whatever the browser would send elsewhere (a request its page's policy blocks is never
    # sent, so it does not count).
    context.route(lambda url: urlparse(url).netloc != host, leaving)
    failures: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: failures.append(str(error)))
    try:
        sign_in(page, console, "admin")
        for name, path in _every_page(console, api).items():
            page.goto(console.url + path)
            expect(page.locator("main h1")).to_be_visible()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways at {size['width']} px"
            if name == "invoice":
                page.locator("details.line summary").first.click()
            assert page.evaluate(LOW_CONTRAST) == [], name
            page.screenshot(path=str(screenshots / f"{name}-{size['width']}.png"), full_page=True)
        for viewer in ("/docs", "/redoc"):
            page.goto(console.url + viewer)
            shown = ".swagger-ui .info .title" if viewer == "/docs" else "redoc-wrap, .api-content"
            expect(page.locator(shown).first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(screenshots / f"{viewer[1:]}-{size['width']}.png"))
    finally:
        context.close()
    assert not outside, outside
    assert not failures, failures
