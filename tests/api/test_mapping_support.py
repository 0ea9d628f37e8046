"""Helpers the mapping API tests share (no tests here): a month of usage, companies, module
billing, service mappings, contracts and billing runs, all through the public API."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

TODAY = datetime.now(UTC).date()  # the test tenant's zone is UTC


def _previous_month(today: date) -> tuple[date, int]:
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first, calendar.monthrange(first.year, first.month)[1]


PERIOD_START, PERIOD_DAYS = _previous_month(TODAY)
PERIOD = PERIOD_START.strftime("%Y-%m")
DAYS = [PERIOD_START + timedelta(days=i) for i in range(PERIOD_DAYS)]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


@dataclass
class MappingApi:
    """The public API of one tenant, in the words of the mapping tests."""

    api: EmbeddedApi

    async def company(self, name: str, **fields: Any) -> str:
        body = {"name": name, "currency": "EUR", **fields}
        return str(ok(await self.api.client.post("/v1/companies", json=body), 201)["id"])

    async def usage(
        self,
        module: str,
        org_id: str,
        org_name: str,
        metric: str,
        quantity: int | str,
        days: list[date] | None = None,
    ) -> None:
        records = [
            {
                "module": module,
                "org_id": org_id,
                "org_name": org_name,
                "metric": metric,
                "date": d.isoformat(),
                "quantity": str(quantity),
            }
            for d in days or DAYS
        ]
        answer = ok(await self.api.client.post("/v1/usage", json={"records": records}))
        assert not answer["rejected"], answer
        # Mapping counts what it re-resolves from the usage it has consumed: wait for it.
        await self.api.settle()

    async def enable(self, *modules: str, since: date = PERIOD_START) -> None:
        for module in modules:
            ok(
                await self.api.client.put(
                    f"/v1/modules/{module}/billing",
                    json={"enabled": True, "effective_from": since.isoformat()},
                )
            )

    async def disable(self, module: str) -> None:
        ok(await self.api.client.put(f"/v1/modules/{module}/billing", json={"enabled": False}))

    async def service_mapping(
        self, module: str, metric: str, *codes: str, company_id: str | None = None
    ) -> Any:
        prefix = f"/v1/companies/{company_id}" if company_id else "/v1"
        return ok(
            await self.api.client.put(
                f"{prefix}/service-mappings/{module}/{metric}", json={"service_codes": list(codes)}
            )
        )

    async def map_org(
        self, module: str, org_id: str, company_id: str | None = None, excluded: bool = False
    ) -> Any:
        body: dict[str, Any] = {"excluded": True} if excluded else {"company_id": company_id}
        return ok(
            await self.api.client.put(f"/v1/module-orgs/{module}/{org_id}/mapping", json=body)
        )

    async def unmap_org(self, module: str, org_id: str) -> None:
        ok(await self.api.client.delete(f"/v1/module-orgs/{module}/{org_id}/mapping"), 204)

    async def contract(self, company_id: str, *prices: tuple[str, str]) -> str:
        """A contract since before the period with per-unit services ``(code, price)``."""
        body = {
            "company_id": company_id,
            "name": "Managed services",
            "start_date": (PERIOD_START - timedelta(days=60)).isoformat(),
            "currency": "EUR",
            "services": [
                {"service_code": code, "name": code, "unit_price": price} for code, price in prices
            ],
        }
        return str(ok(await self.api.client.post("/v1/contracts", json=body), 201)["id"])

    async def draft_lines(self, company_id: str) -> dict[str, tuple[Decimal, Decimal]]:
        """After the pipeline settled, a billing run; the company's draft as
        ``{service_code: (quantity, amount)}``."""
        await self.api.settle()
        ok(await self.api.client.post("/v1/billing-runs", json={"period": PERIOD}), 201)
        found = ok(
            await self.api.client.get(
                "/v1/invoices", params={"period": PERIOD, "company_id": company_id}
            )
        )
        drafts = [i for i in found["items"] if i["kind"] == "invoice"]
        assert len(drafts) == 1, found
        invoice = ok(await self.api.client.get(f"/v1/invoices/{drafts[0]['id']}"))
        return {
            line["service_code"]: (Decimal(line["quantity"]), Decimal(line["amount"]))
            for line in invoice["lines"]
        }

    async def key(self, role: str) -> tuple[str, httpx.AsyncClient]:
        """A new API key of the tenant: its id and a client using it (to be closed)."""
        issued = ok(
            await self.api.client.post("/v1/api-keys", json={"name": f"{role} key", "role": role}),
            201,
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.api.system.app),
            base_url="http://icb.test",
            timeout=60,
            headers={"Authorization": f"Bearer {issued['key']}"},
        )
        return str(issued["id"]), client

    async def module_orgs(self, **params: Any) -> list[dict[str, Any]]:
        return list(ok(await self.api.client.get("/v1/module-orgs", params=params))["items"])

    async def insights(self, **params: Any) -> list[dict[str, Any]]:
        return list(
            ok(await self.api.client.get("/v1/insights", params={"limit": 1000, **params}))["items"]
        )
