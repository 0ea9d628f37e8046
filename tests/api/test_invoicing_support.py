"""Helpers the invoicing API tests share (no tests here): companies, module billing, service
mappings, usage series, contracts, billing runs and invoices, all through the public API.

Usage comes as a daily series per (module, org, metric); every org is mapped to its company
and every module billed from long before the period, so the expected amounts follow from the
series and the contract alone (PRODUCT.md section 4)."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi, EmbeddedApiFactory

TODAY = datetime.now(UTC).date()  # the test tenants' zone is UTC
ORG_NAME = "Org"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:3000]}"
    )
    return (
        response.json()
        if response.content and "json" in response.headers.get("content-type", "")
        else response
    )


def latest_month(days: int, before: date = TODAY) -> str:
    """The latest calendar month of ``days`` days that ended before ``before``."""
    year, month = before.year, before.month
    while True:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        if calendar.monthrange(year, month)[1] == days:
            return f"{year:04d}-{month:02d}"


def days_of(period: str) -> list[date]:
    year, month = map(int, period.split("-"))
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def day(period: str, number: int) -> date:
    return days_of(period)[number - 1]


def steps(*parts: tuple[int, int | str]) -> list[Decimal]:
    """A daily series from ``(number of days, quantity)`` runs: steps((10, 5), (20, 30))."""
    return [Decimal(q) for n, q in parts for _ in range(n)]


def service(
    code: str,
    price: str | None = "1.00",
    *,
    model: str = "per_unit",
    tiers: Sequence[tuple[str | None, str]] = (),
    basis: str = "daily",
    minimum: str = "0",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_code": code,
        "name": f"Service {code}",
        "counting_basis": basis,
        "minimum_units": minimum,
        "pricing": {"model": model},
    }
    if price is not None:
        body["unit_price"] = price
    if tiers:
        body["pricing"]["tiers"] = [{"up_to": u, "unit_price": p} for u, p in tiers]
    return body


@dataclass
class InvoicingApi:
    """The public API of one tenant, in the words of the invoicing tests."""

    api: EmbeddedApi
    mapped: set[tuple[str, str]] = field(default_factory=set)
    enabled: set[str] = field(default_factory=set)
    seller_set: bool = False

    @property
    def client(self) -> Any:
        return self.api.client

    async def company(
        self,
        name: str = "Contoso Ltd",
        tax_rate: str = "0",
        currency: str = "EUR",
        external_ref: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"name": name, "tax_rate": tax_rate, "currency": currency}
        if external_ref is not None:
            body["external_ref"] = external_ref
        return str(ok(await self.client.post("/v1/companies", json=body), 201)["id"])

    async def feed(self, module: str, metric: str, *codes: str) -> None:
        """Maps ``(module, metric)`` to the service codes, tenant-wide; the module is billed
        from 2015 on."""
        if module not in self.enabled:
            ok(
                await self.client.put(
                    f"/v1/modules/{module}/billing",
                    json={"enabled": True, "effective_from": "2015-01-01"},
                )
            )
            self.enabled.add(module)
        ok(
            await self.client.put(
                f"/v1/service-mappings/{module}/{metric}", json={"service_codes": list(codes)}
            )
        )

    async def usage(
        self,
        company_id: str,
        module: str,
        metric: str,
        first: date,
        series: Sequence[Decimal | int | str],
        org_id: str | None = None,
    ) -> None:
        """The daily series from ``first`` on, from the org (default: one per module and
        company), which is mapped to the company."""
        org = org_id or f"{module}-{company_id[:8]}"
        records = [
            {
                "module": module,
                "org_id": org,
                "org_name": f"{ORG_NAME} {org}",
                "metric": metric,
                "date": (first + timedelta(days=i)).isoformat(),
                "quantity": str(q),
            }
            for i, q in enumerate(series)
        ]
        for start in range(0, len(records), 5000):
            answer = ok(
                await self.client.post("/v1/usage", json={"records": records[start : start + 5000]})
            )
            assert not answer["rejected"], answer["rejected"][:3]
        await self.api.settle()
        if (module, org) not in self.mapped:
            ok(
                await self.client.put(
                    f"/v1/module-orgs/{module}/{org}/mapping", json={"company_id": company_id}
                )
            )
            self.mapped.add((module, org))
        await self.api.settle()

    async def contract(
        self,
        company_id: str,
        services: list[dict[str, Any]],
        *,
        start: date,
        end: date | None = None,
        currency: str = "EUR",
    ) -> str:
        body: dict[str, Any] = {
            "company_id": company_id,
            "name": "Managed services",
            "start_date": start.isoformat(),
            "currency": currency,
            "services": services,
        }
        if end is not None:
            body["end_date"] = end.isoformat()
        return str(ok(await self.client.post("/v1/contracts", json=body), 201)["id"])

    async def run(self, period: str) -> dict[str, Any]:
        await self.api.settle()
        result: dict[str, Any] = ok(
            await self.client.post("/v1/billing-runs", json={"period": period}), 201
        )
        return result

    async def documents(self, period: str, **params: Any) -> list[dict[str, Any]]:
        page = ok(
            await self.client.get(
                "/v1/invoices", params={"period": period, "limit": 1000, **params}
            )
        )
        return list(page["items"])

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        body: dict[str, Any] = ok(await self.client.get(f"/v1/invoices/{invoice_id}"))
        return body

    async def invoice_of(
        self, company_id: str, period: str, kind: str = "invoice"
    ) -> dict[str, Any]:
        found = await self.documents(period, company_id=company_id, kind=kind)
        live = [d for d in found if d["status"] != "void"]
        assert len(live) == 1, found
        return await self.invoice(live[0]["id"])

    async def seller(self, **profile: Any) -> None:
        """The tenant's seller profile, which posting needs (payment terms 14 days)."""
        body = {"name": "Test MSP", "payment_terms_days": 14, **profile}
        ok(await self.client.put("/v1/seller-profile", json=body))
        self.seller_set = True

    async def post(self, invoice_id: str) -> dict[str, Any]:
        """Posts, with a seller profile set first unless the tenant has one."""
        if not self.seller_set:
            if not ok(await self.client.get("/v1/seller-profile"))["name"]:
                await self.seller()
            self.seller_set = True
        body: dict[str, Any] = ok(await self.client.post(f"/v1/invoices/{invoice_id}/post"))
        return body


def lines_of(invoice: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{service_code: (quantity, amount)}`` as the API shows them."""
    return {line["service_code"]: (line["quantity"], line["amount"]) for line in invoice["lines"]}


@asynccontextmanager
async def embedded_with(make: EmbeddedApiFactory, **settings: Any) -> AsyncIterator[InvoicingApi]:
    """A fresh embedded system with these settings, and a tenant (as ``embedded_api``)."""
    async with make(**settings) as api:
        yield InvoicingApi(api)
