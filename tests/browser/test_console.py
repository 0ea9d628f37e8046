"""The console in a real browser: sign-in, navigation by accessible names, roles, mapping,
posting, CSRF, sign-out, charts, offline assets, and screenshots of every page."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from services.console.views import quantity
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.support.console_server import ConsoleServer
from tests.support.webhook_receiver import receiver

LOW_CONTRAST = (Path(__file__).parent / "contrast.js").read_text()
CSV_HEADER = "module,period,currency,metric,quantity,unit_cost\n"
NAVIGATION = (
    "Overview",
    "Modules",
    "Mapping",
    "Contracts",
    "Invoices",
    "Receivables",
    "Reconciliation",
    "Webhooks",
    "Insights",
    "Audit",
)
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
    "Upload vendor bill",
    "Add endpoint",
    "Retry",
    "Delete",
    "Unmap",
    "Create contract",
    "Save changes",
    "Add amendment",
    "Apply credit",
    "Refund",
    "Reverse payment",
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
    pages = (
        "/console/",
        "/console/modules",
        "/console/mapping",
        "/console/mapping/services",
        "/console/reconciliation",
        "/console/webhooks",
    )
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
    assert posted["display_number"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(posted["display_number"])
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


def _months_before(period: str, count: int) -> str:
    year, month = int(period[:4]), int(period[5:])
    index = year * 12 + month - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _days(period: str) -> list[dt.date]:
    first = dt.date.fromisoformat(f"{period}-01")
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=n) for n in range((after - first).days)]


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code in (status, 201, 202, 204), answer.text
    return answer.json() if answer.content else None


def _no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways"


def _held_draft(console: ConsoleServer, api: httpx.Client) -> dict[str, Any]:
    """A company of its own billed four months before the tenant's period at 4 servers a day
    (before any sample contract starts, so no other company gets an invoice then) and at 40
    a day in the period: its draft of the period is held."""
    early, period = _months_before(console.period, 4), console.period
    module, metric, code = "datto_rmm", "servers", "RMM-SERVER"
    company = _ok(
        api.post("/v1/companies", json={"name": "Spike Held GmbH", "currency": "EUR"}), 201
    )
    _ok(
        api.put(
            f"/v1/modules/{module}/billing",
            json={"enabled": True, "effective_from": f"{early}-01"},
        )
    )
    org = "spike-held-1"
    records = [
        {
            "module": module,
            "org_id": org,
            "org_name": "Spike Held GmbH",
            "metric": metric,
            "date": day.isoformat(),
            "quantity": quantity,
        }
        for days, quantity in ((_days(early), "4"), (_days(period), "40"))
        for day in days
    ]
    _ok(api.post("/v1/usage", json={"records": records}))
    console.settle()
    _ok(api.put(f"/v1/module-orgs/{module}/{org}/mapping", json={"company_id": company["id"]}))
    service = {
        "service_code": code,
        "name": "Servers",
        "counting_basis": "daily",
        "minimum_units": "0",
        "pricing": {"model": "per_unit"},
        "unit_price": "1.00",
    }
    contract = {
        "company_id": company["id"],
        "name": "Managed servers",
        "start_date": f"{early}-01",
        "currency": "EUR",
        "services": [service],
    }
    _ok(api.post("/v1/contracts", json=contract), 201)
    console.settle()
    for billed in (early, period):
        _ok(api.post("/v1/billing-runs", json={"period": billed}), 201)
        console.settle()
    deadline = time.monotonic() + 60
    while not (drafts := items(api, "/v1/invoices", company_id=company["id"], period=period)):
        assert time.monotonic() < deadline, "the billing run made no draft"
        time.sleep(0.2)
    found: dict[str, Any] = api.get(f"/v1/invoices/{drafts[0]['id']}").json()
    return found


def test_a_held_draft_shows_why_and_is_released_from_its_invoice_page(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    draft = _held_draft(console, api)
    [reason] = draft["hold"]["reasons"]
    assert Decimal(reason["quantity"]) == 40 and Decimal(reason["baseline"]) == 4
    sign_in(page, console, "billing", f"/console/invoices/{draft['id']}")
    hold = page.get_by_role("region", name="Held for review")
    expect(hold).to_be_visible()
    reasons = page.get_by_role("region", name="Hold reasons")
    expect(reasons.get_by_role("row").filter(has_text="RMM-SERVER")).to_contain_text("+900 %")
    expect(page.get_by_role("button", name="Post", exact=True)).to_have_count(0)
    page.screenshot(path=str(screenshots / "invoice-held-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "invoice-held-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Release hold").click()
    expect(page.locator("#release-note-error")).to_have_text("this field is required")
    expect(page.get_by_label("Note: why the quantities are right")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert api.get(f"/v1/invoices/{draft['id']}").json()["hold"]["released_at"] is None

    page.get_by_label("Note: why the quantities are right").fill("40 servers migrated in")
    page.get_by_role("button", name="Release hold").click()
    expect(page.get_by_role("status")).to_have_text(
        "The hold is released; the draft can be posted."
    )
    expect(page.get_by_role("region", name="Hold released")).to_contain_text(
        "40 servers migrated in"
    )
    released = api.get(f"/v1/invoices/{draft['id']}").json()["hold"]
    assert released["note"] == "40 servers migrated in" and released["released_at"]
    expect(page.get_by_role("button", name="Post", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Release hold")).to_have_count(0)


def test_the_reconciliation_page_shows_a_vendor_bill_uploaded_from_it(
    page: Page,
    console: ConsoleServer,
    api: httpx.Client,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    period = console.period
    rows = api.get("/v1/reconciliation", params={"period": period}).json()["items"]
    row = next(r for r in rows if Decimal(r["usage_quantity"]) > 0)
    vendor = Decimal(row["usage_quantity"]) + 3
    sign_in(page, console, "billing", "/console/reconciliation")
    expect(page.get_by_label("Month")).to_have_value(period)
    table = page.get_by_role("region", name=f"Reconciliation of {period}")
    expect(table.get_by_role("row")).to_have_count(len(rows) + 1)
    margin = page.get_by_role("region", name="Margin by company")
    expect(margin.get_by_role("row").nth(1)).to_be_visible()

    bad = tmp_path / "bad.csv"
    bad.write_text(f"{CSV_HEADER}{row['module']},{period},EUR,{row['metric']},lots,1.50\n")
    page.get_by_label("Vendor bill (CSV file)").set_input_files(str(bad))
    page.get_by_role("button", name="Upload vendor bill").click()
    expect(page.locator("#vendor-bill-bill_csv-error")).to_contain_text("Line 2, column quantity")
    expect(page.get_by_label("Vendor bill (CSV file)")).to_have_attribute("aria-invalid", "true")
    assert items(api, "/v1/vendor-bills", period=period) == []

    good = tmp_path / "bill.csv"
    good.write_text(f"{CSV_HEADER}{row['module']},{period},EUR,{row['metric']},{vendor},1.50\n")
    page.get_by_label("Vendor bill (CSV file)").set_input_files(str(good))
    page.get_by_role("button", name="Upload vendor bill").click()
    expect(page.get_by_role("status")).to_contain_text(f"Vendor bill recorded: {row['module']}")
    names = {m["module"]: m["name"] for m in items(api, "/v1/modules")}
    shown = (
        page.get_by_role("region", name=f"Reconciliation of {period}")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=names[row["module"]], exact=True))
        .filter(has=page.get_by_role("cell", name=row["metric"], exact=True))
    )
    expect(shown.locator("td[data-label='Vendor bill']")).to_have_text(quantity(vendor))
    difference = shown.locator("td[data-label='Difference']")
    expect(difference).to_have_text("+3")
    expect(difference).to_have_class(re.compile("attention"))
    [bill] = items(api, "/v1/vendor-bills", period=period)
    assert Decimal(bill["lines"][0]["quantity"]) == vendor
    page.screenshot(path=str(screenshots / "reconciliation-uploaded-1280.png"), full_page=True)


def test_a_viewer_sees_the_reconciliation_but_no_upload_form(
    page: Page, console: ConsoleServer
) -> None:
    sign_in(page, console, "viewer", "/console/reconciliation")
    expect(page.get_by_role("heading", name="Reconciliation", level=1)).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("^Reconciliation of"))).to_be_visible()
    expect(page.get_by_label("Vendor bill (CSV file)")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload vendor bill")).to_have_count(0)
    page.goto(console.url + "/console/webhooks")
    expect(page.get_by_text("Only an admin key may manage webhooks.")).to_be_visible()


def test_a_webhook_is_created_with_its_secret_shown_once_and_its_delivery_log_retried(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    with receiver() as hook:
        hook.answer = lambda _r: 500
        sign_in(page, console, "admin", "/console/webhooks")
        page.get_by_label("URL", exact=True).fill(f"{hook.url}/hook")
        page.get_by_label("Description (optional)").fill("Bookkeeping")
        expect(page.get_by_role("checkbox", name=re.compile("invoice.posted"))).to_be_checked()
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_role("status")).to_contain_text("is created")
        expect(page.get_by_label("Signing secret", exact=True)).to_have_value(re.compile("^whsec_"))
        page.screenshot(path=str(screenshots / "webhook-created-1280.png"), full_page=True)
        [endpoint] = items(api, "/v1/webhooks")
        assert endpoint["url"] == f"{hook.url}/hook" and endpoint["events"] == ["invoice.posted"]
        page.reload()
        expect(page.locator("#secret")).to_have_count(0)
        assert "whsec_" not in page.content()

        _ok(api.put("/v1/seller-profile", json={"name": "Console MSP", "payment_terms_days": 14}))
        draft = next(d for d in items(api, "/v1/invoices", status="draft") if not d.get("hold"))
        _ok(api.post(f"/v1/invoices/{draft['id']}/post"))
        deadline = time.monotonic() + 60
        while not (hook.at("/hook") and _attempted(api, endpoint["id"])):
            assert time.monotonic() < deadline, "no delivery was attempted"
            time.sleep(0.2)

        page.get_by_role("link", name=re.compile("^Delivery log")).click()
        expect(page.get_by_role("heading", name="Webhook deliveries", level=1)).to_be_visible()
        log = page.get_by_role("region", name="Delivery log")
        delivery = log.get_by_role("row").filter(has_text="invoice.posted")
        expect(delivery).to_contain_text("HTTP 500")
        expect(delivery).to_contain_text("pending")
        hook.answer = lambda _r: 204
        delivery.get_by_role("button", name=re.compile("^Retry")).click()
        expect(page.get_by_role("status")).to_have_text(
            "Delivered: the endpoint accepted the event."
        )
        delivery = page.get_by_role("region", name="Delivery log").get_by_role("row")
        expect(delivery.filter(has_text="invoice.posted")).to_contain_text("delivered")
        expect(delivery.filter(has_text="invoice.posted")).to_contain_text("by hand")
        page.screenshot(path=str(screenshots / "webhook-retried-1280.png"), full_page=True)
    [done] = items(api, f"/v1/webhooks/{endpoint['id']}/deliveries")
    assert done["status"] == "succeeded"
    assert [a["manual"] for a in done["log"]][-1] is True
    assert json.loads(hook.at("/hook")[-1].body)["data"]["invoice"]["id"] == draft["id"]


def _attempted(api: httpx.Client, webhook_id: str) -> bool:
    found = items(api, f"/v1/webhooks/{webhook_id}/deliveries")
    return bool(found) and found[0]["attempts"] > 0


def _every_page(console: ConsoleServer, api: httpx.Client) -> dict[str, str]:
    invoice = items(api, "/v1/invoices")[0]
    company = items(api, "/v1/companies")[0]
    contract = items(api, "/v1/contracts")[0]
    webhooks = items(api, "/v1/webhooks")
    mapped = items(api, f"/v1/companies/{company['id']}/module-orgs")
    module = mapped[0]["module"] if mapped else "datto_rmm"
    return {
        "overview": "/console/",
        "modules": "/console/modules",
        "mapping": "/console/mapping",
        "mapping-grid": "/console/mapping/grid",
        "service-mappings": "/console/mapping/services",
        "company": f"/console/companies/{company['id']}",
        "contracts": "/console/contracts",
        "grid-cell": f"/console/mapping/grid/cell?company_id={company['id']}&module={module}",
        "contract": f"/console/contracts/{contract['id']}",
        "contract-new": f"/console/contracts/new?company_id={company['id']}",
        "receivables": "/console/receivables",
        "invoices": "/console/invoices",
        "invoice": f"/console/invoices/{invoice['id']}",
        "reconciliation": "/console/reconciliation",
        "webhooks": "/console/webhooks",
        **({"webhook-log": f"/console/webhooks/{webhooks[0]['id']}"} if webhooks else {}),
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
