"""Contracts: the list with company names, a new contract's form, and one contract with its
services, its versions and the forms that change it (see ``contract_forms``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.pages.names import company_names
from services.console.views import SignedIn, quantity

router = APIRouter()
PAGE_SIZE = 25
COMPANY_CHOICES = 50
BLANK_ROWS = 2
NEW_ROWS = 3
BLANK = {
    "service_code": "",
    "name": "",
    "unit_price": "",
    "pricing": "per_unit",
    "tiers": "",
    "counting_basis": "daily",
    "minimum": "",
}


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


@router.get("/contracts/new")
async def new_contract(page: SignedIn, company_id: str = "", q: str = "") -> HTMLResponse:
    """A company's new contract; without ``company_id``, its company is chosen on the form."""
    company = await page.api.get_or_none(f"/v1/companies/{company_id}") if company_id else None
    choices: list[dict[str, Any]] = []
    more = False
    if company is None:
        listed = await page.api.get("/v1/companies", q=q, limit=COMPANY_CHOICES)
        choices, more = listed["items"], bool(listed.get("next_cursor"))
    return page.render(
        "contract_new.html",
        title="New contract",
        current="Contracts",
        company=company,
        choices=choices,
        more_companies=more,
        q=q,
        start=page.today().replace(day=1).isoformat(),
        rows=[BLANK] * NEW_ROWS,
    )


def service_row(service: dict[str, Any]) -> dict[str, str]:
    """A contract service as a form row."""
    pricing = service.get("pricing") or {}
    model = pricing.get("model", "per_unit")
    tiers = pricing.get("tiers") or []
    return {
        "service_code": service["service_code"],
        "name": service["name"],
        "unit_price": str(service.get("unit_price") or "") if model == "per_unit" else "",
        "pricing": model,
        "tiers": "\n".join(
            f"{'' if t.get('up_to') is None else t['up_to']}: {t['unit_price']}" for t in tiers
        )
        if model != "per_unit"
        else "",
        "counting_basis": service.get("counting_basis") or "daily",
        "minimum": quantity(service.get("minimum_units") or "0"),
    }


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
        rows=[service_row(s) for s in found["services"]] + [BLANK] * BLANK_ROWS,
    )
