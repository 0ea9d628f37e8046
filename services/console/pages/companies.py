"""A company's page: its module orgs (and the unmapped ones that may be its own, to map
from here), contracts, invoices and usage per day."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.charts import Chart, Point, bar_chart, daily_totals, fill_days
from services.console.views import SignedIn

router = APIRouter()
CHART_DAYS = 60
CANDIDATES = 25


def search_word(name: str) -> str:
    """The first distinctive word of a company name: module orgs spell the rest differently."""
    words = [w.strip(".,&()-") for w in name.split()]
    return next((w for w in words if len(w) > 2), name)


@router.get("/companies/{company_id}")
async def company(page: SignedIn, company_id: str, q: str | None = None) -> HTMLResponse:
    api = page.api
    found = await api.get(f"/v1/companies/{company_id}")
    search = search_word(found["name"]) if q is None else q
    first = page.today() - dt.timedelta(days=CHART_DAYS)
    last = page.today() - dt.timedelta(days=1)
    (orgs, _), candidates, contracts, invoices, (usage, _) = await asyncio.gather(
        api.items(f"/v1/companies/{company_id}/module-orgs", 5, limit=1000),
        api.get("/v1/module-orgs", status="unmapped", q=search, limit=CANDIDATES),
        api.get("/v1/contracts", company_id=company_id, limit=100),
        api.get("/v1/invoices", company_id=company_id, limit=24),
        api.items(
            "/v1/usage",
            20,
            company_id=company_id,
            **{"from": first.isoformat(), "to": last.isoformat()},
        ),
    )
    points = daily_totals((r["date"], Decimal(r["quantity"]), r["estimated"]) for r in usage)
    chart = bar_chart(f"Units per day of {found['name']}", fill_days(points, first, last))
    billed = monthly_totals(invoices["items"])
    return page.render(
        "company.html",
        title=found["name"],
        current="Mapping",
        company=found,
        orgs=orgs,
        candidates=candidates["items"],
        search=search,
        contracts=contracts["items"],
        invoices=invoices["items"],
        chart=chart,
        billed=billed,
    )


def monthly_totals(invoices: list[dict[str, Any]]) -> list[Chart]:
    """Invoice totals per period (corrections included, void ones not), one chart per
    currency."""
    sums: dict[str, dict[dt.date, Decimal]] = {}
    for invoice in invoices:
        if invoice["status"] == "void":
            continue
        month = dt.date.fromisoformat(invoice["period"] + "-01")
        per_month = sums.setdefault(invoice["currency"], {})
        per_month[month] = per_month.get(month, Decimal(0)) + Decimal(invoice["total"])
    return [
        bar_chart(
            f"Invoice totals by month ({currency})",
            [Point(m, total) for m, total in sorted(months.items())],
            currency,
            monthly=True,
        )
        for currency, months in sorted(sums.items())
    ]
