"""The grid of companies by modules: which orgs each company has in each module, and one
cell to change: its orgs unmapped ("Unmap"), or an unmapped org of the module mapped to the
company ("Map")."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.pages.companies import search_word
from services.console.pages.mapping import catalog, org_path
from services.console.views import ROOT, SignedIn, act, checked_form, query_string

router = APIRouter()
GRID_PAGE = 20
GRID_ORG_PAGES = 5
"""Pages of 1,000 mapped orgs read for one page of the grid: one request each."""
CANDIDATES = 25
GRID_TAB = "Companies \N{MULTIPLICATION SIGN} modules"


def cell_page(company_id: str, module: str) -> str:
    return f"{ROOT}/mapping/grid/cell" + query_string(company_id=company_id, module=module)


@router.get("/mapping/grid")
async def grid(page: SignedIn, q: str = "", cursor: str = "") -> HTMLResponse:
    listed, modules = await asyncio.gather(
        page.api.get("/v1/companies", limit=GRID_PAGE, q=q, cursor=cursor), catalog(page.api)
    )
    companies = listed["items"]
    mapped: list[dict[str, Any]] = []
    if companies:
        mapped, _more = await page.api.items(
            "/v1/module-orgs", GRID_ORG_PAGES, company_id=[c["id"] for c in companies]
        )
    by_company: dict[str, dict[str, list[str]]] = {c["id"]: {} for c in companies}
    for org in mapped:
        by_company[org["company_id"]].setdefault(org["module"], []).append(org["org_name"])
    return page.render(
        "mapping_grid.html",
        title=GRID_TAB,
        current="Mapping",
        tab=GRID_TAB,
        rows=[(company, by_company[company["id"]]) for company in companies],
        modules=modules,
        next_cursor=listed.get("next_cursor"),
        params={"q": q, "cursor": cursor},
    )


@router.get("/mapping/grid/cell")
async def cell(page: SignedIn, company_id: str, module: str, q: str | None = None) -> HTMLResponse:
    """One company's orgs in one module, and the module's unmapped orgs to add to them."""
    api = page.api
    company, modules = await asyncio.gather(api.get(f"/v1/companies/{company_id}"), catalog(api))
    search = search_word(company["name"]) if q is None else q
    (mapped, _), candidates = await asyncio.gather(
        api.items("/v1/module-orgs", GRID_ORG_PAGES, company_id=company_id, module=module),
        api.get("/v1/module-orgs", status="unmapped", module=module, q=search, limit=CANDIDATES),
    )
    name = next((m["name"] for m in modules if m["module"] == module), module)
    return page.render(
        "mapping_cell.html",
        title=f"{company['name']} in {name}",
        current="Mapping",
        company=company,
        module=module,
        module_name=name,
        mapped=mapped,
        candidates=candidates["items"],
        search=search,
    )


@router.post("/mapping/unmap")
async def unmap(page: SignedIn) -> Response:
    """An org's mapping removed: its usage waits in the Unmapped queue again."""
    form = await checked_form(page)
    module, org_id = form.get("module", ""), form.get("org_id", "")
    name = form.get("org_name") or org_id
    return await act(
        page,
        form,
        lambda: page.api.send("DELETE", org_path(module, org_id)),
        f"{name} ({module}) is unmapped: its usage waits in the Unmapped queue again.",
        form_id=f"unmap-{module}-{org_id}",
        default_back=f"{ROOT}/mapping",
    )
