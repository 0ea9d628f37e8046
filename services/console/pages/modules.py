"""Modules: the catalog with billing on/off and its effective date, connection, last sync,
and "Sync now"."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.views import ROOT, SignedIn, act, checked_form

router = APIRouter()
PAGE = f"{ROOT}/modules"


@router.get("/modules")
async def modules(page: SignedIn) -> HTMLResponse:
    listed, _ = await page.api.items("/v1/modules", 5, limit=100)
    return page.render(
        "modules.html", title="Modules", current="Modules", modules=listed, today=page.today()
    )


@router.post("/modules/{module}/billing")
async def billing(module: str, page: SignedIn) -> Response:
    form = await checked_form(page)
    enabled = form.get("enabled") == "on"
    body = {"enabled": enabled, "effective_from": form.get("effective_from") or None}
    return await act(
        page,
        form,
        lambda: page.api.send("PUT", f"/v1/modules/{module}/billing", body),
        f"Billing for {module} is now {'on' if enabled else 'off'}.",
        form_id=f"billing-{module}",
        default_back=PAGE,
    )


@router.post("/modules/{module}/sync")
async def sync_now(module: str, page: SignedIn) -> Response:
    form = await checked_form(page)
    return await act(
        page,
        form,
        lambda: page.api.send("POST", f"/v1/modules/{module}/sync"),
        f"A sync of {module} has started; its outcome shows under Last sync.",
        form_id=f"sync-{module}",
        default_back=PAGE,
    )
