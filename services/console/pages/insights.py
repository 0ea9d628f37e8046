"""Insights: what needs the billing team's attention, most severe first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.pages.overview import SEVERITIES
from services.console.views import SignedIn

router = APIRouter()


@router.get("/insights")
async def insights(page: SignedIn, severity: str = "", kind: str = "") -> HTMLResponse:
    found, _ = await page.api.items("/v1/insights", 5, limit=1000)
    kinds = sorted({i["kind"] for i in found})
    shown = [
        i
        for i in found
        if (not severity or i.get("severity") == severity) and (not kind or i["kind"] == kind)
    ]
    shown.sort(key=lambda i: SEVERITIES.index(i.get("severity", "info")))
    return page.render(
        "insights.html",
        title="Insights",
        current="Insights",
        insights=shown,
        total=len(found),
        kinds=kinds,
        severities=SEVERITIES,
        params={"severity": severity, "kind": kind},
    )
