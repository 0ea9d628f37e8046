"""A billing clerk's forms in a real browser: a contract created from its company's page and
amended, a grid cell's org mapped and unmapped, receivables aged, and a viewer without any of
the forms. Screenshots of each page at 1280 and 390 px wide."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_console import a_draft, items, unmapped_with_suggestion
from tests.support.console_server import ConsoleServer


def shoot(page: Page, screenshots: Path, name: str) -> None:
    """The page at both widths, neither scrolling sideways."""
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways at {size['width']} px"
        page.screenshot(path=str(screenshots / f"{name}-{size['width']}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def new_company(api: httpx.Client, name: str) -> dict[str, Any]:
    made = api.post("/v1/companies", json={"name": name, "currency": "EUR"})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def test_a_contract_is_created_from_its_company_page_changed_and_amended(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    company = new_company(api, "Alpine Dental AG")
    sign_in(page, console, "billing", f"/console/companies/{company['id']}")
    page.get_by_role("link", name="New contract for Alpine Dental AG").click()
    expect(page.get_by_role("heading", name="New contract", level=1)).to_be_visible()
    page.get_by_label("Contract name").fill("Managed workplace")
    page.get_by_label("Start date").fill("2026-01-01")
    first = page.get_by_role("group", name=re.compile("^Service 1"))
    first.get_by_label("Code").fill("RMM-DEVICE")
    first.get_by_label("Name on the invoice").fill("Managed device")
    first.get_by_label("Unit price", exact=True).fill("two fifty")
    second = page.get_by_role("group", name=re.compile("^Service 2"))
    expect(second.get_by_label(re.compile("^Tiers"))).to_be_hidden()
    second.get_by_label("Pricing").select_option("graduated")
    expect(second.get_by_label(re.compile("^Tiers"))).to_be_visible()
    expect(second.get_by_label("Unit price", exact=True)).to_be_hidden()
    second.get_by_label("Pricing").select_option("per_unit")
    page.get_by_role("button", name="Create contract").click()
    price = page.get_by_role("group", name=re.compile("^Service 1")).get_by_label(
        "Unit price", exact=True
    )
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-contract-s0_unit_price-error")).to_have_text(
        "write a number, such as 2.50"
    )
    expect(page.get_by_label("Contract name")).to_have_value("Managed workplace")
    assert items(api, "/v1/contracts", company_id=company["id"]) == []
    shoot(page, screenshots, "contract-new-refused")

    price.fill("2.50")
    page.get_by_role("button", name="Create contract").click()
    expect(page.get_by_role("status")).to_contain_text("The contract is created.")
    expect(page.get_by_role("heading", name="Managed workplace", level=1)).to_be_visible()
    [contract] = items(api, "/v1/contracts", company_id=company["id"])
    assert [(s["service_code"], s["unit_price"]) for s in contract["services"]] == [
        ("RMM-DEVICE", "2.50")
    ]

    page.get_by_label("End date (empty: open-ended)").fill("2026-12-31")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("The contract is changed.")
    assert api.get(f"/v1/contracts/{contract['id']}").json()["end_date"] == "2026-12-31"

    amendment = page.get_by_role("region", name="Add amendment")
    amendment.get_by_label("Effective from").fill("2027-02-01")
    row = amendment.get_by_role("group", name=re.compile("^Service 1"))
    expect(row.get_by_label("Unit price", exact=True)).to_have_value("2.50")
    row.get_by_label("Unit price", exact=True).fill("2.75")
    page.get_by_role("button", name="Add amendment").click()
    expect(page.locator("#amendment-effective_from-error")).to_be_visible()
    page.get_by_label("Effective from").fill("2026-07-01")
    page.get_by_role("button", name="Add amendment").click()
    expect(page.get_by_role("status")).to_contain_text("The amendment is added.")
    versions = page.get_by_role("region", name="Versions")
    expect(versions.get_by_role("heading", name="From 2026-07-01")).to_be_visible()
    expect(versions.get_by_role("region", name="Services from 2026-07-01")).to_contain_text("2.75")
    found = api.get(f"/v1/contracts/{contract['id']}").json()["versions"]
    assert [(v["effective_from"], v["services"][0]["unit_price"]) for v in found] == [
        ("2026-01-01", "2.50"),
        ("2026-07-01", "2.75"),
    ]
    shoot(page, screenshots, "contract-amended")


def test_an_org_is_mapped_and_unmapped_from_a_grid_cell(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    org = unmapped_with_suggestion(api)
    company_id = org["suggestions"][0]["company_id"]
    company = api.get(f"/v1/companies/{company_id}").json()
    module_name = {m["module"]: m["name"] for m in items(api, "/v1/modules")}[org["module"]]
    sign_in(page, console, "billing", "/console/mapping/grid")
    page.get_by_label("Company name contains").fill(company["name"])
    page.get_by_role("button", name="Filter").click()
    page.get_by_role(
        "link", name=re.compile(f"^{re.escape(company['name'])}, {module_name}:")
    ).click()
    expect(
        page.get_by_role("heading", name=f"{company['name']} in {module_name}", level=1)
    ).to_be_visible()
    page.get_by_label(f"Unmapped {module_name} names containing").fill(org["org_name"])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("listitem").filter(has_text=org["org_name"]).get_by_role(
        "button", name="Map", exact=True
    ).click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{org['org_name']} ({org['module']}) is mapped"
    )
    mapped = page.get_by_role("region", name="Mapped here")
    expect(mapped).to_contain_text(org["org_name"])
    assert org["org_id"] in {
        o["org_id"] for o in items(api, f"/v1/companies/{company_id}/module-orgs")
    }
    shoot(page, screenshots, "grid-cell-mapped")

    mapped.get_by_role("listitem").filter(has_text=org["org_name"]).get_by_role(
        "button", name="Unmap"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("is unmapped")
    expect(page.get_by_role("region", name="Mapped here")).not_to_contain_text(org["org_name"])
    unmapped = items(api, "/v1/module-orgs", status="unmapped", module=org["module"])
    assert org["org_id"] in {o["org_id"] for o in unmapped}


def test_receivables_age_a_posted_invoice_as_of_a_later_day(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    profile = api.put("/v1/seller-profile", json={"name": "Console MSP", "payment_terms_days": 14})
    assert profile.status_code == 200, profile.text
    draft = next(d for d in items(api, "/v1/invoices", status="draft") if not d.get("hold"))
    posted = api.post(f"/v1/invoices/{draft['id']}/post")
    assert posted.status_code == 200, posted.text
    invoice = api.get(f"/v1/invoices/{draft['id']}").json()
    due = dt.date.fromisoformat(invoice["due_on"])
    as_of = due + dt.timedelta(days=40)
    sign_in(page, console, "viewer", "/console/receivables")
    expect(page.get_by_role("heading", name="Receivables", level=1)).to_be_visible()
    page.get_by_label("Balances as of").fill(as_of.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=f"Aging on {as_of}")).to_be_visible()
    row = (
        page.get_by_role("region", name="Aging by company")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=invoice["company_name"]))
        .filter(has_text=invoice["currency"])
    )
    aging = api.get("/v1/receivables/aging", params={"as_of": as_of.isoformat()}).json()
    [expected] = [
        r
        for r in aging["items"]
        if r["company_id"] == invoice["company_id"] and r["currency"] == invoice["currency"]
    ]
    assert Decimal(expected["days_31_60"]) >= Decimal(invoice["balance"]) > 0
    expect(row.locator("td[data-label='31\N{EN DASH}60 days']")).to_have_text(
        f"{Decimal(expected['days_31_60']):,.2f}"
    )
    expect(row.locator("td[data-label='31\N{EN DASH}60 days']")).to_have_class(
        re.compile("attention")
    )
    shoot(page, screenshots, "receivables-aged")


def test_a_viewer_sees_the_new_pages_without_their_forms(
    page: Page, console: ConsoleServer, api: httpx.Client
) -> None:
    # a sample company's contract: the contract the first test made, for a company of its
    # own without orgs, may come first (contracts are listed by id)
    with_orgs = (
        (c, orgs)
        for c in items(api, "/v1/contracts")
        if (orgs := items(api, f"/v1/companies/{c['company_id']}/module-orgs"))
    )
    contract, mapped = next(with_orgs, ({}, []))
    assert mapped, "no sample company has a contract and a mapped org"
    sign_in(page, console, "viewer")
    cell = (
        f"/console/mapping/grid/cell?company_id={contract['company_id']}"
        f"&module={mapped[0]['module']}"
    )
    for path in (
        cell,
        f"/console/contracts/{contract['id']}",
        f"/console/contracts/new?company_id={contract['company_id']}",
        "/console/contracts",
        f"/console/companies/{contract['company_id']}",
        "/console/receivables",
    ):
        page.goto(console.url + path)
        expect(page.locator("main h1")).to_be_visible()
        for name in ("Unmap", "Map", "Create contract", "Save changes", "Add amendment"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("^New contract"))).to_have_count(0)
    page.goto(console.url + cell)
    expect(page.get_by_role("region", name="Mapped here")).to_contain_text(mapped[0]["org_name"])
    assert a_draft(api)["status"] == "draft"


def test_a_payment_is_reversed_with_its_reason_from_the_invoice_page(
    page: Page, console: ConsoleServer, api: httpx.Client, screenshots: Path
) -> None:
    profile = api.put("/v1/seller-profile", json={"name": "Console MSP", "payment_terms_days": 14})
    assert profile.status_code == 200, profile.text
    draft = next(d for d in items(api, "/v1/invoices", status="draft") if not d.get("hold"))
    assert api.post(f"/v1/invoices/{draft['id']}/post").status_code == 200
    balance = api.get(f"/v1/invoices/{draft['id']}").json()["balance"]
    paid = api.post(
        f"/v1/invoices/{draft['id']}/payments", json={"amount": balance, "reference": "BANK-1"}
    )
    assert paid.status_code == 201, paid.text
    assert api.get(f"/v1/invoices/{draft['id']}").json()["status"] == "paid"
    sign_in(page, console, "billing", f"/console/invoices/{draft['id']}")
    payments = page.get_by_role("region", name="Payments")
    payments.get_by_text("Reverse this payment").click()
    payments.get_by_role("button", name="Reverse payment").click()
    reason = page.get_by_label(re.compile("^Reason"))
    expect(reason).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/v1/invoices/{draft['id']}").json()["status"] == "paid"
    reason.fill("The bank returned it")
    page.get_by_role("button", name="Reverse payment").click()
    expect(page.get_by_role("status")).to_contain_text("The payment is reversed")
    expect(page.get_by_role("region", name="Payments")).to_contain_text("The bank returned it")
    reopened = api.get(f"/v1/invoices/{draft['id']}").json()
    assert (reopened["status"], reopened["balance"]) == ("posted", balance)
    shoot(page, screenshots, "invoice-payment-reversed")
