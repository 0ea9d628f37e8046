"""Receivables: what customers owe, aged by days past the due date (section 12's aging
report, as of any day), and the overdue invoices to chase."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.client import ApiProblem
from services.console.views import SignedIn, explain

router = APIRouter()
BUCKETS = (
    ("current", "Not yet due"),
    ("days_1_30", "1\N{EN DASH}30 days"),
    ("days_31_60", "31\N{EN DASH}60 days"),
    ("days_61_90", "61\N{EN DASH}90 days"),
    ("days_over_90", "Over 90 days"),
    ("total", "Total owed"),
)
OVERDUE_SHOWN = 50


SUMMED = (*(key for key, _ in BUCKETS), "unapplied_credit")


def currency_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """Each column summed per currency (amounts of different currencies never add up)."""
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        per = totals.setdefault(row["currency"], {key: Decimal(0) for key in SUMMED})
        for key in SUMMED:
            per[key] += Decimal(str(row[key]))
    return dict(sorted(totals.items()))


@router.get("/receivables")
async def receivables(page: SignedIn, as_of: str = "") -> HTMLResponse:
    error = ""
    try:
        aging, overdue = await asyncio.gather(
            page.api.get("/v1/receivables/aging", as_of=as_of),
            page.api.get("/v1/invoices", overdue="true", limit=OVERDUE_SHOWN),
        )
    except ApiProblem as problem:
        if problem.status != 422 or not as_of:
            raise
        error = problem.fields.get("as_of") or explain(problem)
        aging = {"as_of": as_of, "items": []}
        overdue = {"items": [], "next_cursor": None}
    rows = sorted(aging["items"], key=lambda r: (r["company_name"].lower(), r["currency"]))
    return page.render(
        "receivables.html",
        title="Receivables",
        current="Receivables",
        as_of=aging["as_of"],
        today=page.today().isoformat(),
        as_of_error=error,
        rows=rows,
        buckets=BUCKETS,
        totals=currency_totals(rows),
        overdue=[(i, days_late(i.get("due_on"), page.today())) for i in overdue["items"]],
        more_overdue=bool(overdue.get("next_cursor")),
    )


def days_late(due_on: str | None, today: dt.date) -> int | None:
    if not due_on:
        return None
    return (today - dt.date.fromisoformat(due_on)).days
