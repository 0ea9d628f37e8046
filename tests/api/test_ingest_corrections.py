"""A correction (same key, another quantity) reaches the unit table and the draft invoice; a
repeat changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.support.scenario import ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

DAY = datetime.now(UTC).date() - timedelta(days=1)
PERIOD = DAY.strftime("%Y-%m")
FIRST = DAY.replace(day=1).isoformat()
MODULE, METRIC, ORG = "datto_edr", "endpoints", "edr-77"


async def push(api: EmbeddedApi, quantity: str) -> dict[str, Any]:
    body = {
        "records": [
            {
                "module": MODULE,
                "org_id": ORG,
                "org_name": "Fabrikam Inc",
                "metric": METRIC,
                "date": DAY.isoformat(),
                "quantity": quantity,
            }
        ]
    }
    answer: dict[str, Any] = ok(await api.client.post("/v1/usage", json=body))
    await api.settle()
    return answer


async def unit_quantity(api: EmbeddedApi, company_id: str) -> Decimal:
    page = ok(
        await api.client.get(
            "/v1/usage",
            params={
                "company_id": company_id,
                "module": MODULE,
                "from": DAY.isoformat(),
                "to": DAY.isoformat(),
            },
        )
    )
    [row] = page["items"]
    assert row["estimated"] is False
    return Decimal(row["quantity"])


async def draft(api: EmbeddedApi) -> dict[str, Any]:
    ok(await api.client.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    [summary] = ok(await api.client.get("/v1/invoices", params={"period": PERIOD}))["items"]
    invoice: dict[str, Any] = ok(await api.client.get(f"/v1/invoices/{summary['id']}"))
    assert invoice["status"] == "draft"
    return invoice


async def day_quantity(api: EmbeddedApi, invoice: dict[str, Any]) -> Decimal:
    [line] = invoice["lines"]
    explained = ok(await api.client.get(f"/v1/invoices/{invoice['id']}/lines/{line['id']}/explain"))
    [source] = explained["sources"]
    [day] = [d for d in source["days"] if d["date"] == DAY.isoformat()]
    assert day["estimated"] is False
    return Decimal(day["quantity"])


async def test_a_correction_changes_the_unit_table_and_the_draft(
    embedded_api: EmbeddedApi,
) -> None:
    api = embedded_api.client
    ok(
        await api.put(
            f"/v1/modules/{MODULE}/billing", json={"enabled": True, "effective_from": FIRST}
        )
    )
    company = ok(await api.post("/v1/companies", json={"name": "Fabrikam, Inc."}), 201)["id"]
    assert await push(embedded_api, "10") == {
        "accepted": 1,
        "unchanged": 0,
        "corrected": 0,
        "rejected": [],
    }
    ok(await api.put(f"/v1/service-mappings/{MODULE}/{METRIC}", json={"service_codes": ["EDR"]}))
    ok(await api.put(f"/v1/module-orgs/{MODULE}/{ORG}/mapping", json={"company_id": company}))
    ok(
        await api.post(
            "/v1/contracts",
            json={
                "company_id": company,
                "name": "Managed security",
                "start_date": FIRST,
                "currency": "EUR",
                "services": [
                    {"service_code": "EDR", "name": "EDR per endpoint", "unit_price": "3.10"}
                ],
            },
        ),
        201,
    )
    await embedded_api.settle()
    assert await unit_quantity(embedded_api, company) == Decimal(10)
    before = await draft(embedded_api)
    assert await day_quantity(embedded_api, before) == Decimal(10)

    assert await push(embedded_api, "25") == {
        "accepted": 0,
        "unchanged": 0,
        "corrected": 1,
        "rejected": [],
    }
    assert await unit_quantity(embedded_api, company) == Decimal(25)
    after = await draft(embedded_api)
    assert after["id"] == before["id"]  # the draft is refreshed, not duplicated
    assert await day_quantity(embedded_api, after) == Decimal(25)
    assert Decimal(after["total"]) > Decimal(before["total"])

    assert await push(embedded_api, "25") == {
        "accepted": 0,
        "unchanged": 1,
        "corrected": 0,
        "rejected": [],
    }
    again = await draft(embedded_api)
    assert (again["total"], again["lines"]) == (after["total"], after["lines"])
