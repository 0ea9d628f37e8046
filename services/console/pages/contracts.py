"""Contracts: the list with company names, and one contract with its services (and its
versions where the API has them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.pages.names import company_names
from services.console.views import SignedIn

router = APIRouter()
PAGE_SIZE = 25


@router.get("/contracts")
async def contracts(page: SignedIn, company_id: str = "", cursor: str = "") -> HTMLResponse:
    listed = await page.api.get(
        "/v1/contracts", company_id=company_id, cursor=cursor, limit=PAGE_SIZE
    )
    names = await company_names(page.api, (c["company_id"] for c in listed["items"]))
    return page.render(
        "contracts.html",
        title="Contracts",
        current="Contracts",
        contracts=listed["items"],
        names=names,
        next_cursor=listed.get("next_cursor"),
        params={"company_id": company_id, "cursor": cursor},
    )


@router.get("/contracts/{contract_id}")
async def contract(page: SignedIn, contract_id: str) -> HTMLResponse:
    found = await page.api.get(f"/v1/contracts/{contract_id}")
    names = await company_names(page.api, [found["company_id"]])
    return page.render(
        "contract.html",
        title=found["name"],
        current="Contracts",
        contract=found,
        company_name=names.get(found["company_id"], found["company_id"]),
    )
