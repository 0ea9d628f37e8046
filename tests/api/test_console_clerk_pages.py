"""The console's forms for a billing clerk's daily work, on both backends without a browser:
contracts created, changed and amended; a grid cell's org unmapped and mapped; receivables
aged; each refused write back at its field, and a viewer without the forms."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from tests.api.test_console_pages import browser, issue, sign_in  # noqa: F401
from tests.api.test_invoicing_receivables import EARLIER, _credit_note, _customer, _pay, _posted
from tests.api.test_invoicing_support import InvoicingApi
from tests.conftest import EmbeddedApi

RMM = "datto_rmm"


async def company(api: EmbeddedApi, name: str) -> dict[str, Any]:
    made = await api.client.post("/v1/companies", json={"name": name, "currency": "EUR"})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def follow(browser: httpx.AsyncClient, answer: httpx.Response) -> str:  # noqa: F811
    assert answer.status_code == 303, answer.text[:300]
    return html.unescape((await browser.get(answer.headers["location"])).text)


def service_row(row: int, code: str, name: str, price: str = "", **more: str) -> dict[str, str]:
    fields = {"service_code": code, "name": name, "unit_price": price, "tiers": "", **more}
    return {f"s{row}_{k}": v for k, v in fields.items()}


async def test_a_contract_is_created_changed_and_amended_from_its_forms(
    embedded_api: EmbeddedApi,
    browser: httpx.AsyncClient,  # noqa: F811
) -> None:
    contoso = await company(embedded_api, "Contoso Ltd")
    token = await sign_in(browser, embedded_api.key)
    form = await browser.get(f"/console/contracts/new?company_id={contoso['id']}")
    assert ">Create contract</button>" in form.text and "Contoso Ltd" in form.text
    base = {
        "csrf_token": token,
        "company_id": contoso["id"],
        "name": "Managed services",
        "start_date": "2026-01-01",
        "end_date": "",
        "currency": "EUR",
        **service_row(0, "RMM-DEVICE", "Devices", "2.50"),
        **service_row(1, "BACKUP-TB", "Backup", "lots"),
        **service_row(2, "", ""),
    }
    shown = await follow(browser, await browser.post("/console/contracts", data=base))
    assert 'id="new-contract-s1_unit_price-error"' in shown
    assert 'value="lots"' in shown and 'value="Managed services"' in shown
    assert (await embedded_api.client.get("/v1/contracts")).json()["items"] == []

    tiers = {"s1_pricing": "graduated", "s1_unit_price": "", "s1_tiers": "10 3.00"}
    shown = await follow(browser, await browser.post("/console/contracts", data={**base, **tiers}))
    assert 'id="new-contract-s1_tiers-error"' in shown and "“100: 3.00”" in shown

    tiers["s1_tiers"] = "10: 3.00\n: 2.00"
    made = await browser.post("/console/contracts", data={**base, **tiers})
    shown = await follow(browser, made)
    assert "The contract is created." in shown
    [contract] = (await embedded_api.client.get("/v1/contracts")).json()["items"]
    assert made.headers["location"] == f"/console/contracts/{contract['id']}"
    backup = next(s for s in contract["services"] if s["service_code"] == "BACKUP-TB")
    assert backup["pricing"]["model"] == "graduated"
    assert [t["unit_price"] for t in backup["pricing"]["tiers"]] == ["3.00", "2.00"]
    assert "10: 3.00" in shown  # the amendment form starts from the services in force

    page = f"/console/contracts/{contract['id']}"
    change = {"csrf_token": token, "name": "Managed services 2026", "end_date": "2025-06-30"}
    shown = await follow(browser, await browser.post(f"{page}/changes", data=change))
    assert 'id="change-contract-' in shown and "-error" in shown
    change["end_date"] = "2026-12-31"
    shown = await follow(browser, await browser.post(f"{page}/changes", data=change))
    assert "The contract is changed." in shown
    changed = (await embedded_api.client.get(f"/v1/contracts/{contract['id']}")).json()
    assert (changed["name"], changed["end_date"]) == ("Managed services 2026", "2026-12-31")

    amendment = {
        "csrf_token": token,
        "effective_from": "2027-03-01",
        **service_row(0, "RMM-DEVICE", "Devices", "2.75"),
        **service_row(1, "", ""),
    }
    shown = await follow(browser, await browser.post(f"{page}/amendments", data=amendment))
    assert 'id="amendment-effective_from-error"' in shown
    amendment["effective_from"] = "2026-07-01"
    shown = await follow(browser, await browser.post(f"{page}/amendments", data=amendment))
    assert "The amendment is added." in shown and "From 2026-07-01" in shown
    versions = (await embedded_api.client.get(f"/v1/contracts/{contract['id']}")).json()["versions"]
    assert [v["effective_from"] for v in versions] == ["2026-01-01", "2026-07-01"]
    assert [(s["service_code"], s["unit_price"]) for s in versions[1]["services"]] == [
        ("RMM-DEVICE", "2.75")
    ]


async def test_a_grid_cell_unmaps_and_maps_an_org(
    embedded_api: EmbeddedApi,
    browser: httpx.AsyncClient,  # noqa: F811
) -> None:
    contoso = await company(embedded_api, "Contoso Ltd")
    records = [
        {
            "module": RMM,
            "org_id": org_id,
            "org_name": name,
            "metric": "total_devices",
            "date": "2026-11-01",
            "quantity": "3",
        }
        for org_id, name in (("c-1", "Contoso HQ"), ("c-2", "Contoso Branch"))
    ]
    assert (
        await embedded_api.client.post("/v1/usage", json={"records": records})
    ).status_code == 200
    await embedded_api.settle()
    body = {"company_id": contoso["id"]}
    mapped = await embedded_api.client.put(f"/v1/module-orgs/{RMM}/c-1/mapping", json=body)
    assert mapped.status_code == 200
    token = await sign_in(browser, embedded_api.key)
    cell = f"/console/mapping/grid/cell?company_id={contoso['id']}&module={RMM}"
    assert cell.replace("&", "&amp;") in (await browser.get("/console/mapping/grid")).text
    shown = html.unescape((await browser.get(cell)).text)
    assert "Contoso Ltd in Datto RMM" in shown and ">Unmap</button>" in shown
    assert "Contoso Branch" in shown  # an unmapped org of the module to map here

    org = {"csrf_token": token, "module": RMM, "org_id": "c-1", "org_name": "Contoso HQ"}
    shown = await follow(
        browser, await browser.post("/console/mapping/unmap", data=org | {"back": cell})
    )
    assert "Contoso HQ (datto_rmm) is unmapped" in shown
    add = {**org, "org_id": "c-2", "org_name": "Contoso Branch", "company_id": contoso["id"]}
    shown = await follow(
        browser,
        await browser.post("/console/mapping/org", data=add | {"back": cell, "action": "map"}),
    )
    assert "Contoso Branch (datto_rmm) is mapped." in shown
    listed = await embedded_api.client.get(f"/v1/companies/{contoso['id']}/module-orgs")
    assert [o["org_id"] for o in listed.json()["items"]] == ["c-2"]

    viewer = await issue(embedded_api, "viewer")
    browser.cookies.clear()
    await sign_in(browser, viewer)
    for path in (cell, f"/console/contracts/new?company_id={contoso['id']}", "/console/contracts"):
        page = (await browser.get(path)).text
        for button in (">Unmap</button>", ">Map</button>", ">Create contract</button>"):
            assert button not in page, (path, button)
        assert "New contract</a>" not in page


async def test_receivables_age_the_open_balances_as_of_a_day(
    embedded_api: EmbeddedApi,
    browser: httpx.AsyncClient,  # noqa: F811
) -> None:
    await sign_in(browser, embedded_api.key)
    page = html.unescape((await browser.get("/console/receivables")).text)
    assert "<h1>Receivables</h1>" in page and "Nothing is owed" in page
    assert "No invoice is overdue today." in page
    dated = html.unescape((await browser.get("/console/receivables?as_of=2026-02-01")).text)
    assert "Aging on 2026-02-01" in dated
    wrong = html.unescape((await browser.get("/console/receivables?as_of=someday")).text)
    assert 'id="as_of-error"' in wrong and 'aria-invalid="true"' in wrong


@pytest.mark.parametrize("path", ["/console/receivables", "/console/contracts/new"])
async def test_new_pages_send_strangers_to_the_sign_in(
    browser: httpx.AsyncClient,  # noqa: F811
    path: str,
) -> None:
    answer = await browser.get(path)
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]


async def test_credit_is_applied_and_refunded_and_a_payment_reversed_from_invoice_pages(
    embedded_api: EmbeddedApi,
    browser: httpx.AsyncClient,  # noqa: F811
) -> None:
    billing = InvoicingApi(embedded_api)
    company = await _customer(billing)
    corrected = await _posted(billing, company)
    await _pay(billing, corrected["id"], "120")
    earlier = await _posted(billing, company, EARLIER)
    credit = await billing.post((await _credit_note(billing, company))["id"])
    assert credit["unapplied"] == "24.00"
    token = await sign_in(browser, embedded_api.key)
    page = f"/console/invoices/{credit['id']}"
    shown = html.unescape((await browser.get(page)).text)
    assert ">Apply credit</button>" in shown and ">Refund</button>" in shown
    assert f'<option value="{earlier["id"]}"' in shown
    assert f'<option value="{corrected["id"]}"' not in shown  # paid: no balance to reduce

    apply = {"csrf_token": token, "invoice_id": earlier["id"], "amount": "99"}
    shown = await follow(browser, await browser.post(f"{page}/applications", data=apply))
    assert 'class="form-error"' in shown and "24.00" in shown
    assert (await billing.invoice(credit["id"]))["unapplied"] == "24.00"
    apply["amount"] = "10"
    shown = await follow(browser, await browser.post(f"{page}/applications", data=apply))
    assert "The credit is applied to the invoice." in shown
    refund = {"csrf_token": token, "amount": "4", "paid_on": "", "reference": "REF-1"}
    shown = await follow(browser, await browser.post(f"{page}/refunds", data=refund))
    assert "The refund is recorded." in shown
    assert (await billing.invoice(credit["id"]))["unapplied"] == "10.00"

    paid = f"/console/invoices/{corrected['id']}"
    [payment] = (await billing.client.get(f"/v1/invoices/{corrected['id']}/payments")).json()[
        "items"
    ]
    reverse = f"{paid}/payments/{payment['id']}/reversal"
    shown = await follow(browser, await browser.post(reverse, data={"csrf_token": token}))
    assert f'id="reversal-{payment["id"]}-reason-error"' in shown
    assert (await billing.invoice(corrected["id"]))["status"] == "paid"
    reason = {"csrf_token": token, "reason": "the bank returned it"}
    shown = await follow(browser, await browser.post(reverse, data=reason))
    assert "The payment is reversed" in shown and "the bank returned it" in shown
    reopened = await billing.invoice(corrected["id"])
    assert (reopened["status"], reopened["balance"]) == ("posted", "120.00")
