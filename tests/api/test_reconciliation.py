"""Vendor bills, the reconciliation and the margin report (PRODUCT.md section 11) through
the API: every unit of usage is billed or explained by its first reason, the parts add up,
and they follow re-resolution and corrected usage; margin only within one currency.

One 30-day month; quantities are constant per day, so averages are the daily counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from services.invoicing.assurance.reconciliation import UNBILLED, Share, average_shares
from services.invoicing.models import ContractRow, ModuleBillingRow, UnitRow
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    latest_month,
    ok,
    service,
    steps,
)
from tests.api.test_reconciliation_summary import definition, raw_rows

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PERIOD = latest_month(30)
RMM, EDR = "datto_rmm", "datto_edr"
ZERO = "0.0000"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _push(
    billing: InvoicingApi, module: str, org: str, metric: str, per_day: int, days: int = 30
) -> None:
    records = [
        {
            "module": module,
            "org_id": org,
            "org_name": f"Org {org}",
            "metric": metric,
            "date": day(PERIOD, d + 1).isoformat(),
            "quantity": str(per_day),
        }
        for d in range(days)
    ]
    answer = ok(await billing.client.post("/v1/usage", json={"records": records}))
    assert not answer["rejected"], answer
    await billing.api.settle()


async def _map(billing: InvoicingApi, module: str, org: str, body: dict[str, Any]) -> None:
    ok(await billing.client.put(f"/v1/module-orgs/{module}/{org}/mapping", json=body))
    await billing.api.settle()


async def _world(billing: InvoicingApi) -> dict[str, str]:
    """RMM servers: billed 10, unmapped org 3, excluded org 2, company without contract 5;
    RMM desktops without a service 4; EDR (billing off) from an unmapped org 7."""
    contoso = await billing.company("Contoso Ltd")
    fabrikam = await billing.company("Fabrikam GmbH")
    await billing.feed(RMM, "servers", "SRV")
    await billing.usage(contoso, RMM, "servers", day(PERIOD, 1), steps((30, 10)), "c-rmm")
    await _push(billing, RMM, "c-rmm", "desktops_laptops", 4)
    await billing.contract(contoso, [service("SRV", "3.00")], start=day(PERIOD, 1))
    await billing.usage(fabrikam, RMM, "servers", day(PERIOD, 1), steps((30, 5)), "f-rmm")
    await _push(billing, RMM, "stray", "servers", 3)
    await _push(billing, RMM, "internal", "servers", 2)
    await _map(billing, RMM, "internal", {"excluded": True})
    await _push(billing, EDR, "edr-1", "endpoints", 7)
    return {"contoso": contoso, "fabrikam": fabrikam}


async def _reconciliation(billing: InvoicingApi) -> dict[tuple[str, str], dict[str, Any]]:
    body = ok(await billing.client.get("/v1/reconciliation", params={"period": PERIOD}))
    assert body["period"] == PERIOD and body["days"] == 30
    rows = {(r["module"], r["metric"]): r for r in body["items"]}
    for row in rows.values():  # the parts add up
        parts = [row["billed_quantity"], *row["unbilled"].values()]
        assert sum(map(float, parts)) == pytest.approx(float(row["usage_quantity"]))
        assert sum(int(p.replace(".", "")) for p in parts) == int(
            row["usage_quantity"].replace(".", "")
        )
    return rows


def _unbilled(**parts: str) -> dict[str, str]:
    keys = ("billing_disabled", "excluded_org", "unmapped_org", "unmapped_metric", "no_contract")
    return {k: parts.get(k, ZERO) for k in keys}


async def test_every_unit_is_billed_or_explained(billing: InvoicingApi) -> None:
    await _world(billing)
    ok(
        await billing.client.post(
            "/v1/vendor-bills",
            json={
                "module": RMM,
                "period": PERIOD,
                "currency": "EUR",
                "lines": [{"metric": "servers", "quantity": "21", "unit_cost": "2.00"}],
            },
        ),
        201,
    )

    rows = await _reconciliation(billing)

    assert rows[(RMM, "servers")] == {
        "module": RMM,
        "metric": "servers",
        "vendor_quantity": "21.0000",
        "usage_quantity": "20.0000",
        "billed_quantity": "10.0000",
        "unbilled": _unbilled(excluded_org="2.0000", unmapped_org="3.0000", no_contract="5.0000"),
        "difference": "1.0000",
    }
    desktops = rows[(RMM, "desktops_laptops")]
    assert (desktops["vendor_quantity"], desktops["difference"]) == (ZERO, "-4.0000")
    assert desktops["unbilled"] == _unbilled(unmapped_metric="4.0000")
    edr = rows[(EDR, "endpoints")]
    assert (edr["vendor_quantity"], edr["difference"]) == (None, None)
    assert edr["unbilled"] == _unbilled(billing_disabled="7.0000")  # before unmapped_org


async def test_reconciliation_follows_mappings_and_corrections(billing: InvoicingApi) -> None:
    companies = await _world(billing)

    await _map(billing, RMM, "stray", {"company_id": companies["contoso"]})
    await billing.contract(companies["fabrikam"], [service("SRV")], start=day(PERIOD, 16))
    await _push(billing, RMM, "c-rmm", "servers", 25, days=3)  # corrected: 15 more a day

    servers = (await _reconciliation(billing))[(RMM, "servers")]
    # billed: 10 + 3 + 15 x 3 / 30 (corrections) + 5 x 15 / 30 (contract from the 16th)
    assert servers["usage_quantity"] == "21.5000"
    assert servers["billed_quantity"] == "17.0000"
    assert servers["unbilled"] == _unbilled(excluded_org="2.0000", no_contract="2.5000")
    assert servers["vendor_quantity"] is None


async def test_thirds_are_rounded_so_the_parts_still_add_up(billing: InvoicingApi) -> None:
    company = await billing.company()
    await billing.feed(RMM, "servers", "SRV")
    await billing.usage(company, RMM, "servers", day(PERIOD, 1), steps((10, 1)), "a")
    await billing.contract(company, [service("SRV")], start=day(PERIOD, 1))
    await _push(billing, RMM, "b", "servers", 1, days=10)
    await _push(billing, RMM, "c", "servers", 1, days=10)
    await _map(billing, RMM, "c", {"excluded": True})

    servers = (await _reconciliation(billing))[(RMM, "servers")]
    assert servers["usage_quantity"] == "1.0000"  # 30 / 30
    assert sorted(
        [
            servers["billed_quantity"],
            servers["unbilled"]["unmapped_org"],
            servers["unbilled"]["excluded_org"],
        ]
    ) == ["0.3333", "0.3333", "0.3334"]


async def test_a_second_bill_replaces_the_first_and_csv_carries_several(
    billing: InvoicingApi,
) -> None:
    first = {
        "module": RMM,
        "period": PERIOD,
        "currency": "EUR",
        "lines": [{"metric": "servers", "quantity": "5", "unit_cost": "1.5"}],
    }
    ok(await billing.client.post("/v1/vendor-bills", json=first), 201)
    text = (
        "module,period,currency,metric,quantity,unit_cost\n"
        f"{RMM},{PERIOD},EUR,servers,7,1.75\n"
        f"{RMM},{PERIOD},EUR,desktops_laptops,2,0.5\n"
        f"{EDR},{PERIOD},USD,endpoints,9,3\n"
    )
    answer = ok(
        await billing.client.post(
            "/v1/vendor-bills", content=text.encode(), headers={"Content-Type": "text/csv"}
        ),
        201,
    )
    assert [(b["module"], b["currency"], len(b["lines"])) for b in answer["bills"]] == [
        (RMM, "EUR", 2),
        (EDR, "USD", 1),
    ]
    listed = ok(await billing.client.get("/v1/vendor-bills", params={"period": PERIOD}))["items"]
    assert [
        (b["module"], b["lines"][0]["quantity"], b["lines"][0]["unit_cost"]) for b in listed
    ] == [
        (EDR, "9.0000", "3"),
        (RMM, "7.0000", "1.75"),
    ]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"module": "nope", "period": "2026-01", "currency": "EUR", "lines": []},
            ["body", "module"],
        ),
        ({"module": RMM, "period": "2026-13", "currency": "EUR", "lines": []}, ["body", "period"]),
        (
            {"module": RMM, "period": "2026-01", "currency": "EUX", "lines": []},
            ["body", "currency"],
        ),
        (
            {
                "module": RMM,
                "period": "2026-01",
                "currency": "EUR",
                "lines": [{"metric": "users", "quantity": "1", "unit_cost": "1"}],
            },
            ["body", "lines"],
        ),
        (
            {
                "module": RMM,
                "period": "2026-01",
                "currency": "EUR",
                "lines": [{"metric": "servers", "quantity": "-1", "unit_cost": "1"}],
            },
            ["body", "lines", 0, "quantity"],
        ),
    ],
)
async def test_bad_bills_are_refused_and_change_nothing(
    billing: InvoicingApi, body: dict[str, Any], loc: list[Any]
) -> None:
    problem = ok(await billing.client.post("/v1/vendor-bills", json=body), 422)
    assert problem["errors"][0]["loc"] == loc
    assert ok(await billing.client.get("/v1/vendor-bills"))["items"] == []


async def test_a_bad_csv_row_refuses_the_file(billing: InvoicingApi) -> None:
    text = (
        "module,period,currency,metric,quantity,unit_cost\n"
        f"{RMM},{PERIOD},EUR,servers,7,1.75\n"
        f"{RMM},{PERIOD},EUR,desktops_laptops,x,0.5\n"
    )
    problem = ok(
        await billing.client.post(
            "/v1/vendor-bills", content=text.encode(), headers={"Content-Type": "text/csv"}
        ),
        422,
    )
    assert problem["errors"][0]["loc"] == ["body", 3, "quantity"]
    assert ok(await billing.client.get("/v1/vendor-bills"))["items"] == []


async def test_margin_per_company_within_one_currency(billing: InvoicingApi) -> None:
    companies = await _world(billing)
    dollars = await billing.company("Northwind Inc", currency="USD")
    await billing.usage(dollars, RMM, "servers", day(PERIOD, 1), steps((30, 6)), "n-rmm")
    await billing.contract(dollars, [service("SRV", "4.00")], start=day(PERIOD, 1), currency="USD")
    ok(
        await billing.client.post(
            "/v1/vendor-bills",
            json={
                "module": RMM,
                "period": PERIOD,
                "currency": "EUR",
                "lines": [{"metric": "servers", "quantity": "26", "unit_cost": "1.25"}],
            },
        ),
        201,
    )
    await billing.run(PERIOD)

    report = ok(await billing.client.get("/v1/reports/margin", params={"period": PERIOD}))

    by_company = {(c["company_id"], c["currency"]): c for c in report["items"]}
    contoso = by_company[(companies["contoso"], "EUR")]
    assert (contoso["revenue"], contoso["cost"], contoso["margin"]) == ("30.00", "12.50", "17.50")
    assert contoso["services"] == [
        {"service_code": "SRV", "revenue": "30.00", "cost": "12.50", "margin": "17.50"}
    ]
    assert contoso["company_name"] == "Contoso Ltd"
    northwind = by_company[(dollars, "USD")]
    assert (northwind["revenue"], northwind["cost"]) == ("24.00", "0.00")
    assert northwind["uncosted"] == [
        {"module": RMM, "metric": "servers", "quantity": "6.0000", "vendor_currency": "EUR"}
    ]
    assert report["totals"] == [
        {"currency": "EUR", "revenue": "30.00", "cost": "12.50", "margin": "17.50"},
        {"currency": "USD", "revenue": "24.00", "cost": "0.00", "margin": "24.00"},
    ]


async def test_a_metric_feeding_two_services_is_paid_once_with_the_larger(
    billing: InvoicingApi,
) -> None:
    """Servers feed RMM and PATCH; RMM bills all 6 a day from the 1st, PATCH only from the
    16th (3 a day on average): the vendor is paid for the servers once, with RMM."""
    company = await billing.company()
    await billing.feed(RMM, "servers", "RMM", "PATCH")
    await billing.usage(company, RMM, "servers", day(PERIOD, 1), steps((30, 6)), "c")
    await billing.contract(company, [service("RMM", "2.00")], start=day(PERIOD, 1))
    await billing.contract(company, [service("PATCH", "1.00")], start=day(PERIOD, 16))
    bill = {
        "module": RMM,
        "period": PERIOD,
        "currency": "EUR",
        "lines": [{"metric": "servers", "quantity": "6", "unit_cost": "0.50"}],
    }
    ok(await billing.client.post("/v1/vendor-bills", json=bill), 201)
    await billing.run(PERIOD)

    report = ok(await billing.client.get("/v1/reports/margin", params={"period": PERIOD}))

    [item] = report["items"]
    assert item["services"] == [
        {"service_code": "PATCH", "revenue": "3.00", "cost": "0.00", "margin": "3.00"},
        {"service_code": "RMM", "revenue": "12.00", "cost": "3.00", "margin": "9.00"},
    ]
    assert (item["revenue"], item["cost"], item["uncosted"]) == ("15.00", "3.00", [])


async def test_period_is_required_and_checked(billing: InvoicingApi) -> None:
    for path in ("/v1/reconciliation", "/v1/reports/margin"):
        ok(await billing.client.get(path), 422)
        problem = ok(await billing.client.get(path, params={"period": "2026-00"}), 422)
        assert problem["errors"][0]["loc"] == ["query", "period"]


async def test_a_record_feeding_several_services_counts_once(billing: InvoicingApi) -> None:
    covered = await billing.company("Contoso Ltd")
    uncovered = await billing.company("Fabrikam GmbH")
    await billing.feed(RMM, "servers", "SRV", "PATCH")
    await billing.usage(covered, RMM, "servers", day(PERIOD, 1), steps((30, 10)), "c")
    await billing.usage(uncovered, RMM, "servers", day(PERIOD, 1), steps((30, 4)), "f")
    await billing.contract(covered, [service("PATCH")], start=day(PERIOD, 1))
    await billing.contract(uncovered, [service("OTHER")], start=day(PERIOD, 1))

    servers = (await _reconciliation(billing))[(RMM, "servers")]
    assert (servers["usage_quantity"], servers["billed_quantity"]) == ("14.0000", "10.0000")
    assert servers["unbilled"] == _unbilled(no_contract="4.0000")


async def test_a_service_dropped_by_an_amendment_is_unbilled_from_that_day(
    billing: InvoicingApi,
) -> None:
    company = await billing.company()
    await billing.feed(RMM, "servers", "SRV")
    await billing.usage(company, RMM, "servers", day(PERIOD, 1), steps((30, 6)), "c")
    contract = await billing.contract(
        company, [service("SRV"), service("OTHER")], start=day(PERIOD, 1)
    )
    amendment = {"effective_from": day(PERIOD, 21).isoformat(), "services": [service("OTHER")]}
    ok(await billing.client.post(f"/v1/contracts/{contract}/amendments", json=amendment), 201)

    servers = (await _reconciliation(billing))[(RMM, "servers")]
    assert servers["billed_quantity"] == "4.0000"  # 6 x 20 / 30
    assert servers["unbilled"] == _unbilled(no_contract="2.0000")


def _expected(
    units: list[UnitRow],
    states: dict[str, ModuleBillingRow],
    contracts: list[ContractRow],
) -> dict[tuple[str, str], dict[str, str]]:
    """The definition evaluated record by record, averaged and rounded."""
    out = {}
    start, end = day(PERIOD, 1), day(PERIOD, 30)
    for metric, by_share in definition(units, states, contracts, start, end).items():
        total, parts = average_shares(by_share, 30)
        out[metric] = {
            "usage_quantity": str(total),
            "billed_quantity": str(parts[Share.BILLED]),
            **{s.key: str(parts[s]) for s in UNBILLED},
        }
    return out


async def test_the_sums_follow_the_definition_record_by_record(billing: InvoicingApi) -> None:
    """Several reasons, services in force by contract version, overlapping contracts,
    a metric feeding two services, several currencies, corrections and re-resolution
    after billing: the answer equals the definition evaluated record by record."""
    companies = await _world(billing)
    contoso, fabrikam = companies["contoso"], companies["fabrikam"]
    dollars = await billing.company("Northwind Inc", currency="USD")
    await billing.feed(RMM, "desktops_laptops", "DSK", "PATCH")
    await billing.usage(contoso, RMM, "desktops_laptops", day(PERIOD, 1), steps((30, 7)), "c-d")
    await billing.usage(fabrikam, RMM, "desktops_laptops", day(PERIOD, 3), steps((20, 3)), "f-d")
    await billing.usage(dollars, RMM, "servers", day(PERIOD, 1), steps((12, 2), (18, 9)), "n")
    first = await billing.contract(
        dollars, [service("SRV")], start=day(PERIOD, 5), end=day(PERIOD, 20), currency="USD"
    )
    await billing.contract(dollars, [service("SRV")], start=day(PERIOD, 15), currency="USD")
    amendment = {"effective_from": day(PERIOD, 18).isoformat(), "services": [service("PATCH")]}
    ok(await billing.client.post(f"/v1/contracts/{first}/amendments", json=amendment), 201)
    await billing.contract(fabrikam, [service("DSK")], start=day(PERIOD, 8), end=day(PERIOD, 25))
    await billing.feed(EDR, "endpoints", "EDR")
    ok(
        await billing.client.put(
            f"/v1/modules/{EDR}/billing",
            json={"enabled": True, "effective_from": day(PERIOD, 11).isoformat()},
        )
    )
    await _map(billing, EDR, "edr-1", {"company_id": dollars})
    await billing.contract(dollars, [service("EDR")], start=day(PERIOD, 1), currency="USD")
    await _push(billing, RMM, "c-rmm", "network_devices", 2)
    await _push(billing, RMM, "lost", "servers", 1, days=12)
    await billing.run(PERIOD)
    await _map(billing, RMM, "stray", {"company_id": fabrikam})
    await _push(billing, RMM, "c-rmm", "servers", 25, days=3)
    await _push(billing, RMM, "c-d", "desktops_laptops", 1, days=9)

    rows = await _reconciliation(billing)

    async with billing.api.system.invoicing.sessions() as session:
        units, states, contracts = await raw_rows(session, billing.api.tenant_id)
    expected = _expected(units, states, contracts)
    assert len({s for parts in expected.values() for s, q in parts.items() if q != ZERO}) == 7
    assert {
        key: {
            "usage_quantity": row["usage_quantity"],
            "billed_quantity": row["billed_quantity"],
            **row["unbilled"],
        }
        for key, row in rows.items()
    } == expected
