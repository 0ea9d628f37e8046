"""Revenue assurance on the real stack (four service processes, Kafka, PostgreSQL): usage
uploaded as CSV for four months, 20 servers a day for three of them and 2,000 in the last;
the last month's draft is held, posting it answers 409 and an insight names it; a release
with a note lets it post, and the reconciliation against the vendor's bill accounts for
every server."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.polling import Pending, wait_for
from tests.support.scenario import get_all, ok
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 90.0
MODULE, METRIC, ORG = "datto_rmm", "servers", "rmm-assure-1"


def _months(count: int) -> list[tuple[date, date]]:
    """The ``count`` calendar months before the current one, oldest first."""
    out = []
    last = date.today().replace(day=1) - timedelta(days=1)
    for _ in range(count):
        first = last.replace(day=1)
        out.append((first, last))
        last = first - timedelta(days=1)
    return out[::-1]


MONTHS = _months(4)
PERIODS = [first.strftime("%Y-%m") for first, _ in MONTHS]
CURRENT = PERIODS[-1]


def _csv() -> str:
    lines = ["module,org_id,org_name,metric,date,quantity"]
    for index, (first, last) in enumerate(MONTHS):
        quantity = 2000 if index == len(MONTHS) - 1 else 20
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            lines.append(f"{MODULE},{ORG},Contoso servers,{METRIC},{day},{quantity}")
    return "\n".join(lines) + "\n"


async def test_a_held_draft_from_anomaly_to_release_to_posting(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    async with stack.client(tenant.key) as api:
        company = ok(await api.post("/v1/companies", json={"name": "Contoso Ltd"}), 201)["id"]
        ok(
            await api.post(
                "/v1/contracts",
                json={
                    "company_id": company,
                    "name": "Managed servers",
                    "start_date": "2024-01-01",
                    "currency": "EUR",
                    "services": [{"service_code": "SRV", "name": "Server", "unit_price": "1.00"}],
                },
            ),
            201,
        )
        ok(
            await api.put(
                f"/v1/modules/{MODULE}/billing",
                json={"enabled": True, "effective_from": "2020-01-01"},
            )
        )
        ok(
            await api.put(
                f"/v1/service-mappings/{MODULE}/{METRIC}", json={"service_codes": ["SRV"]}
            )
        )
        uploaded = ok(
            await api.post(
                "/v1/usage", content=_csv().encode(), headers={"Content-Type": "text/csv"}
            )
        )
        days = sum((last - first).days + 1 for first, last in MONTHS)
        assert (uploaded["accepted"], uploaded["rejected"]) == (days, [])

        async def org_visible() -> bool:
            return any(o["org_id"] == ORG for o in await get_all(api, "/v1/module-orgs"))

        await wait_for(org_visible, SETTLE_SECONDS, "the module org")
        ok(await api.put(f"/v1/module-orgs/{MODULE}/{ORG}/mapping", json={"company_id": company}))

        async def resolved() -> bool | Pending:
            rows = await stack.fetch(
                "SELECT count(*) AS n FROM invoicing.units WHERE tenant_id = $1"
                " AND status = 'mapped' AND service_code = 'SRV'",
                tenant.id,
            )
            billing = await stack.fetch(
                "SELECT count(*) AS n FROM invoicing.module_billing WHERE tenant_id = $1",
                tenant.id,
            )
            return (rows[0]["n"] == days and billing[0]["n"] == 1) or Pending(
                f"{rows[0]['n']} of {days} unit rows"
            )

        await wait_for(resolved, SETTLE_SECONDS, "the unit table")
        for period in PERIODS:
            ok(await api.post("/v1/billing-runs", json={"period": period}), 201)
        ok(await api.put("/v1/seller-profile", json={"name": "E2E MSP", "payment_terms_days": 14}))

        [draft] = await get_all(api, "/v1/invoices", period=CURRENT, status="draft")
        draft = ok(await api.get(f"/v1/invoices/{draft['id']}"))
        assert draft["hold"]["reasons"] == [
            {
                "line_id": draft["lines"][0]["id"],
                "service_code": "SRV",
                "quantity": "2000.0000",
                "baseline": "20.0000",
            }
        ]
        refused = ok(await api.post(f"/v1/invoices/{draft['id']}/post"), 409)
        assert refused["type"].endswith("/invoice-held")
        insights = await get_all(api, "/v1/insights", kind="usage_anomaly")
        assert [(i["invoice_id"], i["severity"]) for i in insights] == [(draft["id"], "warning")]

        released = ok(
            await api.post(
                f"/v1/invoices/{draft['id']}/release", json={"note": "2,000 servers migrated"}
            )
        )
        assert released["hold"]["note"] == "2,000 servers migrated"
        assert released["hold"]["released_by"]
        audit = await get_all(api, "/v1/audit")
        assert any(a["path"] == f"/v1/invoices/{draft['id']}/release" for a in audit)
        posted = ok(await api.post(f"/v1/invoices/{draft['id']}/post"))
        assert (posted["status"], posted["number"], posted["total"]) == ("posted", 1, "2000.00")
        assert await get_all(api, "/v1/insights", kind="usage_anomaly") == []

        ok(
            await api.post(
                "/v1/vendor-bills",
                json={
                    "module": MODULE,
                    "period": CURRENT,
                    "currency": "EUR",
                    "lines": [{"metric": METRIC, "quantity": "2010", "unit_cost": "0.40"}],
                },
            ),
            201,
        )
        rows: list[dict[str, Any]] = ok(
            await api.get("/v1/reconciliation", params={"period": CURRENT})
        )["items"]
        margin = ok(await api.get("/v1/reports/margin", params={"period": CURRENT}))

    assert rows == [
        {
            "module": MODULE,
            "metric": METRIC,
            "vendor_quantity": "2010.0000",
            "usage_quantity": "2000.0000",
            "billed_quantity": "2000.0000",
            "unbilled": {
                "billing_disabled": "0.0000",
                "excluded_org": "0.0000",
                "unmapped_org": "0.0000",
                "unmapped_metric": "0.0000",
                "no_contract": "0.0000",
            },
            "difference": "10.0000",
        }
    ]
    [item] = margin["items"]
    assert (item["revenue"], item["cost"], item["margin"]) == ("2000.00", "800.00", "1200.00")
