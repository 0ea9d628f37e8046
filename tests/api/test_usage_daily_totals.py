"""The unit table's daily totals: every company, module and metric summed per day in one
answer, equal to the sum of the table's own rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from tests.support.scenario import ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

LAST = datetime.now(UTC).date() - timedelta(days=1)
FIRST = LAST - timedelta(days=1)
ORGS = (
    ("datto_edr", "endpoints", "edr-1", "Fabrikam Inc", {FIRST: "10", LAST: "12"}),
    ("datto_edr", "endpoints", "edr-2", "Contoso Ltd", {FIRST: "3"}),
    ("datto_edr", "endpoints", "edr-3", "Contoso Ltd", {LAST: "2"}),
)


async def tenant_with_usage(embedded_api: EmbeddedApi) -> None:
    api = embedded_api.client
    companies = {
        name: ok(await api.post("/v1/companies", json={"name": name}), 201)["id"]
        for name in {org[3] for org in ORGS}
    }
    records = [
        {
            "module": module,
            "org_id": org,
            "org_name": name,
            "metric": metric,
            "date": day.isoformat(),
            "quantity": quantity,
        }
        for module, metric, org, name, days in ORGS
        for day, quantity in days.items()
    ]
    ok(await api.post("/v1/usage", json={"records": records}))
    await embedded_api.settle()
    for module, _, org, name, _ in ORGS:
        mapping = {"company_id": companies[name]}
        ok(await api.put(f"/v1/module-orgs/{module}/{org}/mapping", json=mapping))
    await embedded_api.settle()


async def test_daily_totals_sum_the_unit_table_per_day(embedded_api: EmbeddedApi) -> None:
    await tenant_with_usage(embedded_api)
    api = embedded_api.client
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    rows = ok(await api.get("/v1/usage", params={**span, "limit": 1000}))["items"]
    by_day: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_day[row["date"]] += Decimal(row["quantity"])
    totals = ok(await api.get("/v1/usage/daily-totals", params=span))["items"]
    assert [(t["date"], Decimal(t["quantity"])) for t in totals] == sorted(by_day.items())
    assert [Decimal(t["quantity"]) for t in totals] == [Decimal(13), Decimal(14)]
    assert not any(t["estimated"] for t in totals)

    other = ok(await api.get("/v1/usage/daily-totals", params={**span, "module": "dark_web_id"}))
    assert other["items"] == []


async def test_daily_totals_refuse_a_range_backwards_or_too_long(
    embedded_api: EmbeddedApi,
) -> None:
    api = embedded_api.client
    backwards = {"from": LAST.isoformat(), "to": FIRST.isoformat()}
    too_long = {"from": (LAST - timedelta(days=401)).isoformat(), "to": LAST.isoformat()}
    for params in (backwards, too_long):
        response = await api.get("/v1/usage/daily-totals", params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
