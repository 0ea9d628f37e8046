"""Mapping: the "Unmapped" queue with suggestions ("Map", "Exclude"), "Auto-map" with a
preview, and the service mappings per module and metric (the grid of companies by modules
is in ``grid``)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.client import Api, ApiProblem
from services.console.views import ROOT, SignedIn, act, checked_form, explain, redirect

router = APIRouter()
PAGE = f"{ROOT}/mapping"
QUEUE_PAGE = 25
SUGGESTIONS_SHOWN = 3
DEFAULT_MIN_SCORE = "0.9"


def org_path(module: str, org_id: str) -> str:
    return f"/v1/module-orgs/{quote(module, safe='')}/{quote(org_id, safe='')}/mapping"


async def catalog(api: Api) -> list[dict[str, Any]]:
    modules, _ = await api.items("/v1/modules", 5, limit=100)
    return modules


@router.get("/mapping")
async def unmapped(page: SignedIn, module: str = "", q: str = "", cursor: str = "") -> HTMLResponse:
    params = {"module": module, "q": q, "cursor": cursor}
    listed, modules = await asyncio.gather(
        page.api.get(
            "/v1/module-orgs",
            status="unmapped",
            limit=QUEUE_PAGE,
            module=module,
            q=q,
            cursor=cursor,
        ),
        catalog(page.api),
    )
    return page.render(
        "mapping_unmapped.html",
        title="Mapping",
        current="Mapping",
        tab="Unmapped",
        orgs=listed["items"],
        next_cursor=listed.get("next_cursor"),
        params=params,
        modules=modules,
        shown=SUGGESTIONS_SHOWN,
        min_score=DEFAULT_MIN_SCORE,
        preview=None,
    )


@router.post("/mapping/org")
async def map_org(page: SignedIn) -> Response:
    """One org mapped to a company, or excluded; from the queue or a company's page."""
    form = await checked_form(page)
    module, org_id, name = form.get("module", ""), form.get("org_id", ""), form.get("org_name", "")
    form_id = f"org-{module}-{org_id}"
    if form.get("action") == "exclude":
        body: dict[str, Any] = {"excluded": True}
        done = f"{name or org_id} ({module}) is excluded: it is never billed."
    else:
        company_id = form.get("company_id", "")
        if not company_id:
            return redirect(
                page.request,
                form.get("back") or PAGE,
                {
                    "kind": "error",
                    "text": f"Choose a company to map {name or org_id} to.",
                    "form": form_id,
                    "fields": {"company_id": "Choose a company."},
                },
            )
        body = {"company_id": company_id}
        done = f"{name or org_id} ({module}) is mapped."
    return await act(
        page,
        form,
        lambda: page.api.send("PUT", org_path(module, org_id), body),
        done,
        form_id=form_id,
        default_back=PAGE,
    )


@router.post("/mapping/auto-map")
async def auto_map(page: SignedIn) -> Response:
    """Without ``apply`` a preview (the API's dry run) to confirm; with it, the mappings."""
    form = await checked_form(page)
    min_score = form.get("min_score") or DEFAULT_MIN_SCORE
    if form.get("apply") == "yes":
        return await act(
            page,
            form,
            lambda: page.api.send(
                "POST", "/v1/module-orgs/auto-map", {"min_score": min_score, "dry_run": False}
            ),
            lambda answer: f"Auto-map mapped {len(answer['mappings'])} orgs.",
            form_id="auto-map",
            default_back=PAGE,
        )
    try:
        preview = await page.api.send(
            "POST", "/v1/module-orgs/auto-map", {"min_score": min_score, "dry_run": True}
        )
    except ApiProblem as problem:
        return redirect(
            page.request,
            PAGE,
            {
                "kind": "error",
                "text": explain(problem),
                "form": "auto-map",
                "fields": problem.fields,
                "values": {"min_score": min_score},
            },
        )
    return page.render(
        "mapping_preview.html",
        title="Auto-map preview",
        current="Mapping",
        tab="Unmapped",
        preview=preview,
        min_score=min_score,
    )


@router.get("/mapping/services")
async def services(page: SignedIn) -> HTMLResponse:
    modules, (mappings, _) = await asyncio.gather(
        catalog(page.api), page.api.items("/v1/service-mappings", 10, limit=1000)
    )
    tenant_wide = {
        (m["module"], m["metric"]): m["service_codes"]
        for m in mappings
        if m.get("company_id") is None
    }
    overrides: dict[tuple[str, str], int] = {}
    for m in mappings:
        if m.get("company_id") is not None:
            key = (m["module"], m["metric"])
            overrides[key] = overrides.get(key, 0) + 1
    return page.render(
        "mapping_services.html",
        title="Service mappings",
        current="Mapping",
        tab="Service mappings",
        modules=modules,
        tenant_wide=tenant_wide,
        overrides=overrides,
    )


@router.post("/mapping/services")
async def save_service_mapping(page: SignedIn) -> Response:
    form = await checked_form(page)
    module, metric = form.get("module", ""), form.get("metric", "")
    codes = [c.strip() for c in form.get("service_codes", "").replace(";", ",").split(",")]
    codes = [c for c in codes if c]
    path = f"/v1/service-mappings/{quote(module, safe='')}/{quote(metric, safe='')}"
    body = {"service_codes": codes}

    async def call() -> Any:
        if codes:
            return await page.api.send("PUT", path, body)
        return await page.api.send("DELETE", path)

    done = (
        f"{module} {metric} now feeds {', '.join(codes)}."
        if codes
        else f"{module} {metric} feeds no service any more."
    )
    return await act(
        page,
        form,
        call,
        done,
        form_id=f"svc-{module}-{metric}",
        default_back=f"{PAGE}/services",
    )
