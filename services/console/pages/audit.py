"""Audit: every write through the API by the tenant's keys, the console's included (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.views import SignedIn

router = APIRouter()
PAGE_SIZE = 50


@router.get("/audit")
async def audit(page: SignedIn, cursor: str = "") -> HTMLResponse:
    if not page.session.is_admin:
        return page.render(
            "audit.html",
            title="Audit",
            current="Audit",
            entries=None,
            next_cursor=None,
            params={},
        )
    listed = await page.api.get("/v1/audit", limit=PAGE_SIZE, cursor=cursor)
    return page.render(
        "audit.html",
        title="Audit",
        current="Audit",
        entries=listed["items"],
        next_cursor=listed.get("next_cursor"),
        params={"cursor": cursor},
    )
