"""The walking-skeleton scenario, built through the public API only.

Three companies, two modules each, a full month of daily counts that vary by day, module org
names that differ from the company names, tenant-wide service mappings plus one company
override, and contracts (daily per-unit prices, one monthly_peak service, one with
minimum_units; tax rates 0.19, 0.2 and 0). The input numbers are plain data here so a test
can compute the expected invoices by hand from the same numbers.
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.support.polling import Pending, wait_for

SETTLE_SECONDS = 90.0


def _latest_31_day_month(today: date) -> tuple[int, int]:
    """The latest month with 31 days that ended before ``today``."""
    year, month = today.year, today.month
    while True:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        if calendar.monthrange(year, month)[1] == 31:
            return year, month


_YEAR, _MONTH = _latest_31_day_month(date.today())
PERIOD = f"{_YEAR:04d}-{_MONTH:02d}"
FIRST_DAY = date(_YEAR, _MONTH, 1)
DAYS = 31
DAYS_OF_PERIOD = [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]
BILLING_FROM = (FIRST_DAY - timedelta(days=20)).isoformat()


def counts(base: int, step: int, spread: int) -> tuple[int, ...]:
    """A whole number per day of the period that varies by day."""
    return tuple(base + (day * step) % spread for day in range(1, DAYS + 1))


@dataclass(frozen=True)
class CompanySpec:
    name: str
    tax_rate: str


@dataclass(frozen=True)
class OrgSpec:
    module: str
    org_id: str
    org_name: str
    company: str | None
    """The name of the company the org maps to; None: the org is excluded."""
    counts: dict[str, tuple[int, ...]]
    """metric -> quantity per day of the period."""


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    unit_price: str
    counting_basis: str = "daily"
    minimum_units: str = "0"


@dataclass(frozen=True)
class ContractSpec:
    company: str
    name: str
    currency: str
    services: tuple[ServiceSpec, ...]


CONTOSO, FABRIKAM, NORTHWIND = "Contoso Ltd.", "Fabrikam GmbH", "Northwind Traders"
COMPANIES = (
    CompanySpec(CONTOSO, "0.19"),
    CompanySpec(FABRIKAM, "0.2"),
    CompanySpec(NORTHWIND, "0"),
)
ORGS = (
    OrgSpec(
        "datto_rmm",
        "rmm-100",
        "CONTOSO LIMITED",
        CONTOSO,
        {"desktops_laptops": counts(40, 7, 13), "servers": counts(5, 3, 4)},
    ),
    OrgSpec("bullphish_id", "bp-7", "contoso-ltd", CONTOSO, {"users": counts(55, 5, 11)}),
    OrgSpec("saas_protection", "sp-fab", "Fabrikam (DE)", FABRIKAM, {"seats": counts(120, 11, 17)}),
    OrgSpec("dark_web_id", "dw-31", "fabrikam.de", FABRIKAM, {"domains": counts(3, 2, 5)}),
    OrgSpec(
        "datto_rmm",
        "rmm-200",
        "NORTHWIND TRADERS INC",
        NORTHWIND,
        {"desktops_laptops": counts(18, 5, 9)},
    ),
    OrgSpec("vulscan", "vs-9", "Northwind-Traders", NORTHWIND, {"ip_addresses": counts(35, 9, 23)}),
    OrgSpec(
        "datto_rmm", "rmm-lab", "MSP Internal Lab", None, {"desktops_laptops": counts(7, 1, 3)}
    ),
)
MODULES = tuple(sorted({org.module for org in ORGS}))
SERVICE_MAPPINGS = {
    ("datto_rmm", "desktops_laptops"): ("RMM-WS",),
    ("datto_rmm", "servers"): ("RMM-SRV",),
    ("bullphish_id", "users"): ("BP-USER",),
    ("saas_protection", "seats"): ("SAAS-SEAT",),
    ("dark_web_id", "domains"): ("DWID-DOMAIN",),
    ("vulscan", "ip_addresses"): ("VULSCAN-IP",),
}
OVERRIDES = {(NORTHWIND, "datto_rmm", "desktops_laptops"): ("RMM-WS-PREMIUM",)}
CONTRACTS = (
    ContractSpec(
        CONTOSO,
        "Managed services Contoso",
        "EUR",
        (
            ServiceSpec("RMM-WS", "Workstation monitoring", "3.35"),
            ServiceSpec("RMM-SRV", "Server monitoring", "12.7"),
            ServiceSpec("BP-USER", "Phishing training per user", "1.99"),
        ),
    ),
    ContractSpec(
        FABRIKAM,
        "Cloud backup Fabrikam",
        "EUR",
        (
            ServiceSpec("SAAS-SEAT", "M365 backup seat", "2.45"),
            # 7 domains at the peak x 15.155 = 106.085: half-up gives 106.09 (half-even 106.08).
            ServiceSpec("DWID-DOMAIN", "Dark web monitoring domain", "15.155", "monthly_peak"),
        ),
    ),
    ContractSpec(
        NORTHWIND,
        "Security Northwind",
        "USD",
        (
            ServiceSpec("RMM-WS-PREMIUM", "Premium workstation care", "4.115"),
            ServiceSpec("VULSCAN-IP", "Vulnerability scan per IP", "0.85", minimum_units="40"),
        ),
    ),
)


def usage_records() -> list[dict[str, Any]]:
    return [
        {
            "module": org.module,
            "org_id": org.org_id,
            "org_name": org.org_name,
            "metric": metric,
            "date": day.isoformat(),
            "quantity": values[i],
        }
        for org in ORGS
        for metric, values in org.counts.items()
        for i, day in enumerate(DAYS_OF_PERIOD)
    ]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} answered "
        f"{response.status_code}: {response.text[:2000]}"
    )
    return response.json() if response.content else None


def tally(answer: dict[str, Any]) -> tuple[int, int, int, int]:
    """(accepted, unchanged, corrected, rejected) of a POST /v1/usage answer."""
    return (answer["accepted"], answer["unchanged"], answer["corrected"], len(answer["rejected"]))


async def get_all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = ok(await api.get(path, params=query))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


@dataclass(frozen=True)
class Built:
    company_ids: dict[str, str]
    """company name -> id"""
    run: dict[str, Any]
    invoices: list[dict[str, Any]]


def expected_usage(company_ids: dict[str, str]) -> dict[tuple[str, str, str, str], Decimal]:
    """What GET /v1/usage must show: (company_id, module, metric, date) -> quantity."""
    rows: dict[tuple[str, str, str, str], int] = {}
    for org in ORGS:
        if org.company is None:
            continue
        for metric, values in org.counts.items():
            for day, value in zip(DAYS_OF_PERIOD, values, strict=True):
                key = (company_ids[org.company], org.module, metric, day.isoformat())
                rows[key] = rows.get(key, 0) + value
    return {key: Decimal(value) for key, value in rows.items()}


async def build_scenario(
    api: httpx.AsyncClient, replicas_ready: Callable[[], Awaitable[object]]
) -> Built:
    """Builds the scenario, waits until the unit table holds all of it, runs billing.

    ``replicas_ready`` answers truthy once invoicing's copy of the module billing states
    (events, not visible through the public API) has caught up.
    """
    for module in MODULES:
        ok(
            await api.put(
                f"/v1/modules/{module}/billing",
                json={"enabled": True, "effective_from": BILLING_FROM},
            )
        )
    company_ids = {
        c.name: ok(
            await api.post("/v1/companies", json={"name": c.name, "tax_rate": c.tax_rate}), 201
        )["id"]
        for c in COMPANIES
    }
    records = usage_records()
    answer = ok(await api.post("/v1/usage", json={"records": records}))
    assert tally(answer) == (len(records), 0, 0, 0), answer

    async def orgs_visible() -> bool | Pending:
        seen = {(o["module"], o["org_id"]) for o in await get_all(api, "/v1/module-orgs")}
        missing = {(o.module, o.org_id) for o in ORGS} - seen
        return not missing or Pending(f"orgs not yet visible: {sorted(missing)}")

    await wait_for(orgs_visible, SETTLE_SECONDS, "the module orgs")
    # Service mappings first: the org mappings' re-resolutions then carry the final codes.
    for (module, metric), codes in SERVICE_MAPPINGS.items():
        ok(
            await api.put(
                f"/v1/service-mappings/{module}/{metric}", json={"service_codes": list(codes)}
            )
        )
    for (company, module, metric), codes in OVERRIDES.items():
        ok(
            await api.put(
                f"/v1/companies/{company_ids[company]}/service-mappings/{module}/{metric}",
                json={"service_codes": list(codes)},
            )
        )
    for org in ORGS:
        target = {"company_id": company_ids[org.company]} if org.company else {"excluded": True}
        ok(await api.put(f"/v1/module-orgs/{org.module}/{org.org_id}/mapping", json=target))
    for contract in CONTRACTS:
        ok(
            await api.post(
                "/v1/contracts",
                json={
                    "company_id": company_ids[contract.company],
                    "name": contract.name,
                    "start_date": BILLING_FROM,
                    "currency": contract.currency,
                    "services": [
                        {
                            "service_code": s.code,
                            "name": s.name,
                            "unit_price": s.unit_price,
                            "counting_basis": s.counting_basis,
                            "minimum_units": s.minimum_units,
                        }
                        for s in contract.services
                    ],
                },
            ),
            201,
        )

    expected = expected_usage(company_ids)

    async def usage_complete() -> bool | Pending:
        rows = await get_all(
            api,
            "/v1/usage",
            **{"from": FIRST_DAY.isoformat(), "to": DAYS_OF_PERIOD[-1].isoformat()},
        )
        seen = {
            (r["company_id"], r["module"], r["metric"], r["date"]): Decimal(r["quantity"])
            for r in rows
        }
        wrong = {k: v for k, v in seen.items() if expected.get(k) != v}
        missing = expected.keys() - seen.keys()
        if wrong or missing:
            return Pending(
                f"{len(missing)} rows missing, {len(wrong)} differ "
                f"(e.g. {sorted(wrong.items())[:3]})"
            )
        return True

    await wait_for(usage_complete, SETTLE_SECONDS, "the unit table of the scenario")
    await wait_for(replicas_ready, SETTLE_SECONDS, "invoicing's module billing states")
    run = ok(await api.post("/v1/billing-runs", json={"period": PERIOD}), 201)
    summaries = await get_all(api, "/v1/invoices", period=PERIOD)
    invoices = [ok(await api.get(f"/v1/invoices/{s['id']}")) for s in summaries]
    return Built(company_ids, run, invoices)


def comparable(built: Built) -> list[dict[str, Any]]:
    """The invoices without ids and timestamps, keyed by company name, sorted."""
    names = {cid: name for name, cid in built.company_ids.items()}
    out = []
    for inv in built.invoices:
        out.append(
            {
                "company": names[inv["company_id"]],
                **{
                    k: inv[k]
                    for k in (
                        "number",
                        "kind",
                        "corrects",
                        "period",
                        "currency",
                        "status",
                        "subtotal",
                        "tax_rate",
                        "tax",
                        "total",
                        "balance",
                    )
                },
                "lines": [
                    {
                        k: line[k]
                        for k in (
                            "service_code",
                            "description",
                            "quantity",
                            "unit_price",
                            "amount",
                            "sources",
                        )
                    }
                    for line in inv["lines"]
                ],
            }
        )
    return sorted(out, key=lambda inv: (inv["company"], inv["currency"]))
