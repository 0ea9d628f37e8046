"""The public API answers alike wherever it can: list filters refused as the writes refuse
them, billing runs listed, invoices naming their company, one text per decimal field and
every time in UTC with ``Z``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.api.test_invoicing_support import InvoicingApi, day, latest_month, ok, service

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PERIOD = latest_month(30)
EARLIER = latest_month(31, before=day(PERIOD, 1))
MODULE, METRIC = "datto_rmm", "servers"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


def refused(response: httpx.Response, name: str) -> None:
    """A 422 problem whose errors name the parameter ``name``."""
    assert response.status_code == 422, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert name in [e["loc"][-1] for e in response.json()["errors"]], response.json()


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "0000-05", "26-01", "x"])
async def test_a_period_the_billing_run_refuses_is_refused_by_the_lists(
    embedded_api: EmbeddedApi, period: str
) -> None:
    api = embedded_api.client
    refused(await api.post("/v1/billing-runs", json={"period": period}), "period")
    refused(await api.get("/v1/invoices", params={"period": period}), "period")
    refused(await api.get("/v1/billing-runs", params={"period": period}), "period")


async def test_every_list_filter_is_validated(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    for path, query, name in (
        ("/v1/invoices", {"status": "paid-ish"}, "status"),
        ("/v1/invoices", {"kind": "receipt"}, "kind"),
        ("/v1/invoices", {"company_id": "x" * 37}, "company_id"),
        ("/v1/contracts", {"company_id": "x" * 37}, "company_id"),
        ("/v1/usage", {"company_id": "x" * 37}, "company_id"),
        ("/v1/usage", {"from": "2026-02-30"}, "from"),
        ("/v1/usage", {"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ("/v1/audit", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ("/v1/audit", {"from": "yesterday"}, "from"),
        ("/v1/mapping-audit", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00Z"}, "to"),
        ("/v1/billing-runs", {"limit": 0}, "limit"),
    ):
        refused(await api.get(path, params=query), name)
    # Equal ends are a range of one instant (or day), not an error.
    one_day = {"from": "2026-03-01", "to": "2026-03-01"}
    assert (await api.get("/v1/usage", params=one_day)).is_success
    moment = "2026-03-01T00:00:00Z"
    assert (await api.get("/v1/audit", params={"from": moment, "to": moment})).is_success


async def two_periods(api: InvoicingApi) -> str:
    await api.feed(MODULE, METRIC, "SRV")
    company = await api.company("Contoso Ltd", tax_rate="0.19")
    await api.usage(company, MODULE, METRIC, day(EARLIER, 1), [3] * 61)
    await api.contract(company, [service("SRV", "3")], start=day(EARLIER, 1))
    return company


async def test_billing_runs_are_listed_newest_first_by_period(billing: InvoicingApi) -> None:
    await two_periods(billing)
    first = await billing.run(EARLIER)
    second = await billing.run(PERIOD)
    again = await billing.run(PERIOD)
    listed = ok(await billing.client.get("/v1/billing-runs"))
    assert [r["id"] for r in listed["items"]] == [again["id"], second["id"], first["id"]]
    assert listed["next_cursor"] is None
    newest = listed["items"][0]
    assert newest["status"] == "succeeded" and newest["result"] == again
    assert newest == ok(await billing.client.get(f"/v1/billing-runs/{again['id']}"))

    pages, cursor = [], None
    while True:
        page = ok(
            await billing.client.get(
                "/v1/billing-runs", params={"limit": 1, **({"cursor": cursor} if cursor else {})}
            )
        )
        pages.append([r["id"] for r in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[again["id"]], [second["id"]], [first["id"]]]

    of_period = ok(await billing.client.get("/v1/billing-runs", params={"period": EARLIER}))
    assert [r["id"] for r in of_period["items"]] == [first["id"]]
    refused(await billing.client.get("/v1/billing-runs", params={"cursor": "nope"}), "cursor")

    # A viewer reads them, as it reads one run; another tenant sees none.
    viewer = ok(
        await billing.client.post("/v1/api-keys", json={"name": "v", "role": "viewer"}), 201
    )
    seen = await billing.client.get(
        "/v1/billing-runs", headers={"Authorization": f"Bearer {viewer['key']}"}
    )
    assert ok(seen)["items"] == listed["items"]


async def test_invoices_name_their_company_in_the_list_and_alone(billing: InvoicingApi) -> None:
    company = await two_periods(billing)
    await billing.run(PERIOD)
    listed = await billing.documents(PERIOD)
    assert [(d["company_id"], d["company_name"]) for d in listed] == [(company, "Contoso Ltd")]
    one = await billing.invoice(listed[0]["id"])
    assert one["company_name"] == "Contoso Ltd"
    posted = await billing.post(one["id"])
    assert posted["company_name"] == "Contoso Ltd"

    # Renamed later: the posted invoice keeps the name it was posted with, in both answers;
    # a new draft shows the new name.
    ok(await billing.client.patch(f"/v1/companies/{company}", json={"name": "Contoso Group"}))
    await billing.api.settle()
    await billing.run(EARLIER)
    names = {d["status"]: d["company_name"] for d in await billing.documents(PERIOD)}
    assert names == {"posted": "Contoso Ltd"}
    assert (await billing.invoice(one["id"]))["company_name"] == "Contoso Ltd"
    assert [d["company_name"] for d in await billing.documents(EARLIER)] == ["Contoso Group"]


def times_in(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every field named like a time (``*_at``, ``at``) in an answer, with where it was."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "at" or key.endswith("_at")) and isinstance(item, str):
                found.append((f"{path}.{key}", item))
            else:
                found.extend(times_in(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(times_in(item, f"{path}[{i}]"))
    return found


async def test_one_text_per_decimal_field_and_utc_times_with_z(billing: InvoicingApi) -> None:
    api = billing.client
    created = ok(
        await api.post("/v1/companies", json={"name": "Rates", "tax_rate": "0.190000"}), 201
    )
    company_id = created["id"]
    one = ok(await api.get(f"/v1/companies/{company_id}"))
    listed = next(c for c in ok(await api.get("/v1/companies"))["items"] if c["id"] == company_id)
    assert created["tax_rate"] == one["tax_rate"] == listed["tax_rate"] == "0.19"

    body = {
        "company_id": company_id,
        "name": "Managed",
        "start_date": day(EARLIER, 1).isoformat(),
        "currency": "EUR",
        "services": [
            service("SRV", "3.000000", minimum="2"),
            service("TIER", None, model="graduated", tiers=[("10", "1.9167"), (None, "1.5")]),
        ],
    }
    contract = ok(await api.post("/v1/contracts", json=body), 201)
    again = ok(await api.get(f"/v1/contracts/{contract['id']}"))
    in_list = ok(await api.get("/v1/contracts", params={"company_id": company_id}))["items"][0]
    for answer in (contract, again, in_list):
        srv, tier = answer["services"]
        assert (srv["unit_price"], srv["minimum_units"]) == ("3.00", "2.0000")
        assert [(t["up_to"], t["unit_price"]) for t in tier["pricing"]["tiers"]] == [
            ("10.0000", "1.9167"),
            (None, "1.50"),
        ]
    assert contract == again == in_list

    await billing.feed(MODULE, METRIC, "SRV")
    await billing.usage(company_id, MODULE, METRIC, day(PERIOD, 1), [3] * 30)
    run = await billing.run(PERIOD)
    document = (await billing.documents(PERIOD))[0]
    invoice = await billing.invoice(document["id"])
    posted = await billing.post(invoice["id"])
    assert invoice["tax_rate"] == posted["tax_rate"] == "0.19"
    assert invoice["lines"][0]["unit_price"] == "3.00"
    for field in ("subtotal", "tax", "total", "balance"):
        assert document[field] == invoice[field], field

    answers = [
        created,
        one,
        contract,
        posted,
        ok(await api.get("/v1/invoices", params={"period": PERIOD})),
        ok(await api.get(f"/v1/billing-runs/{run['id']}")),
        ok(await api.get("/v1/billing-runs")),
        ok(await api.get("/v1/api-keys")),
        ok(await api.get("/v1/audit")),
        ok(await api.get("/v1/mapping-audit")),
        ok(await api.get("/v1/module-orgs", params={"status": "mapped"})),
        ok(await api.get("/v1/modules")),
    ]
    times = [t for answer in answers for t in times_in(answer)]
    assert len(times) > 20, times
    assert [t for t in times if not t[1].endswith("Z")] == []
