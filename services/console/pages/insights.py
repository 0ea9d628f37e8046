"""Insights: what needs the billing team's attention, a page at a time, by kind (the API
filters) and severity (within the page)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.pages.overview import SEVERITIES
from services.console.views import SignedIn

router = APIRouter()
PAGE_SIZE = 50
KINDS = (
    "module_not_enabled",
    "unmapped_orgs",
    "unmapped_metric",
    "usage_without_contract",
    "stale_module",
    "sync_failed",
    "usage_anomaly",
    "webhook_endpoint_disabled",
)


@router.get("/insights")
async def insights(
    page: SignedIn, severity: str = "", kind: str = "", cursor: str = ""
) -> HTMLResponse:
    listed = await page.api.get("/v1/insights", limit=PAGE_SIZE, kind=kind, cursor=cursor)
    found = listed["items"]
    shown = [i for i in found if not severity or i.get("severity") == severity]
    shown.sort(key=lambda i: SEVERITIES.index(i.get("severity", "info")))
    return page.render(
        "insights.html",
        title="Insights",
        current="Insights",
        insights=shown,
        kinds=sorted({*KINDS, *(i["kind"] for i in found)}),
        severities=SEVERITIES,
        next_cursor=listed.get("next_cursor"),
        params={"severity": severity, "kind": kind, "cursor": cursor},
    )
