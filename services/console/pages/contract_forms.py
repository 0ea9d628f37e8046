"""Contracts as a billing clerk edits them: "Create contract", "Save changes" (name and end
date) and "Add amendment" (new service terms from a date, section 10). A form's services are
rows of fields ``s<row>_<field>``; blank rows are left out, and the API's errors about a
service come back next to that row's field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.client import ApiProblem
from services.console.views import (
    ROOT,
    Page,
    SignedIn,
    SignInNeeded,
    checked_form,
    explain,
    redirect,
    refuse,
)

router = APIRouter()
SERVICE_FIELDS = ("service_code", "name", "unit_price", "pricing", "tiers", "counting_basis")
MAX_ROWS = 200
TIER_HELP = (
    "Write one tier per line as “up to: unit price”, e.g. “100: 3.00”; the last as “: 2.00”."
)


def contract_page(contract_id: str) -> str:
    return f"{ROOT}/contracts/{quote(contract_id, safe='')}"


class FormError(Exception):
    """A form the console itself can tell is wrong, before asking the API."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields


def tiers_of(text: str, field: str) -> list[dict[str, str | None]]:
    """``"100: 3.00"`` lines as the API's tiers (an empty "up to": the last, unbounded)."""
    tiers: list[dict[str, str | None]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        up_to, colon, price = line.partition(":")
        if not colon or not price.strip():
            raise FormError({field: TIER_HELP})
        tiers.append({"up_to": up_to.strip() or None, "unit_price": price.strip()})
    return tiers


def services_of(form: dict[str, str]) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled service rows of a form as the API's ``services``, and the row of each."""
    services: list[dict[str, Any]] = []
    filled: list[int] = []
    for row in range(MAX_ROWS):
        if f"s{row}_service_code" not in form:
            break
        given = {f: form.get(f"s{row}_{f}", "").strip() for f in (*SERVICE_FIELDS, "minimum")}
        if not any(given[f] for f in ("service_code", "name", "unit_price", "tiers")):
            continue
        service: dict[str, Any] = {"service_code": given["service_code"], "name": given["name"]}
        model = given["pricing"] or "per_unit"
        if model == "per_unit":
            service["unit_price"] = given["unit_price"] or None
        else:
            tiers = tiers_of(given["tiers"], f"s{row}_tiers")
            service["pricing"] = {"model": model, "tiers": tiers}
        service["counting_basis"] = given["counting_basis"] or "daily"
        service["minimum_units"] = given["minimum"] or "0"
        services.append(service)
        filled.append(row)
    return services, filled


def field_of(loc: list[str | int], form_rows: list[int]) -> str:
    """The form field an API error's location points at."""
    if len(loc) >= 3 and loc[0] == "services" and isinstance(loc[1], int):
        row = form_rows[loc[1]] if loc[1] < len(form_rows) else loc[1]
        part = str(loc[2])
        if part == "pricing":
            return f"s{row}_tiers"
        if part == "minimum_units":
            return f"s{row}_minimum"
        return f"s{row}_{part}"
    return str(loc[0]) if loc else ""


def fields_of(problem: ApiProblem, form_rows: list[int]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for loc, message in problem.errors:
        if loc:
            fields.setdefault(field_of(loc, form_rows), message)
    return fields


Body = Callable[[], tuple[dict[str, Any], list[int]]]
"""A form's API body and the form rows of its ``services`` (raises ``FormError``)."""


async def send_form(
    page: Page,
    form: dict[str, str],
    body: Body,
    call: Callable[[dict[str, Any]], Awaitable[Any]],
    done: str,
    *,
    form_id: str,
    back: str,
    then: Callable[[Any], str] | None = None,
) -> Response:
    """Builds the body (the console's own checks first) and sends it; then on to ``then``
    of the answer (or back) with ``done``. Refused: back to the form, each error next to
    its field, with what was typed."""
    try:
        built, form_rows = body()
    except FormError as error:
        text = "Please correct the fields marked below."
        return refuse(page, form, text, error.fields, form_id=form_id, back=back)
    try:
        answer = await call(built)
    except ApiProblem as problem:
        if problem.status == 401:
            raise SignInNeeded(back) from problem
        fields = fields_of(problem, form_rows)
        text = "Please correct the fields marked below." if fields else explain(problem)
        return refuse(page, form, text, fields, form_id=form_id, back=back)
    to = then(answer) if then else back
    return redirect(page.request, to, {"kind": "notice", "form": form_id, "text": done})


@router.post("/contracts")
async def create(page: SignedIn) -> Response:
    form = await checked_form(page)

    def body() -> tuple[dict[str, Any], list[int]]:
        services, filled = services_of(form)
        return {
            "company_id": form.get("company_id", ""),
            "name": form.get("name", "").strip(),
            "start_date": form.get("start_date", "").strip() or None,
            "end_date": form.get("end_date", "").strip() or None,
            "currency": form.get("currency", "").strip(),
            "services": services,
        }, filled

    back = f"{ROOT}/contracts/new" + (
        f"?company_id={quote(form['company_id'], safe='')}" if form.get("company_id") else ""
    )
    return await send_form(
        page,
        form,
        body,
        lambda built: page.api.send("POST", "/v1/contracts", built),
        "The contract is created. Its company's usage is billed against it at the next "
        "billing run.",
        form_id="new-contract",
        back=back,
        then=lambda made: contract_page(made["id"]),
    )


@router.post("/contracts/{contract_id}/changes")
async def change(page: SignedIn, contract_id: str) -> Response:
    form = await checked_form(page)
    path = f"/v1/contracts/{quote(contract_id, safe='')}"

    def body() -> tuple[dict[str, Any], list[int]]:
        return {
            "name": form.get("name", "").strip(),
            "end_date": form.get("end_date", "").strip() or None,
        }, []

    return await send_form(
        page,
        form,
        body,
        lambda built: page.api.send("PATCH", path, built),
        "The contract is changed. Drafts follow at the next billing run; posted invoices "
        "get a correction there.",
        form_id="change-contract",
        back=contract_page(contract_id),
    )


@router.post("/contracts/{contract_id}/amendments")
async def amend(page: SignedIn, contract_id: str) -> Response:
    form = await checked_form(page)
    path = f"/v1/contracts/{quote(contract_id, safe='')}/amendments"

    def body() -> tuple[dict[str, Any], list[int]]:
        services, filled = services_of(form)
        return {
            "effective_from": form.get("effective_from", "").strip() or None,
            "services": services,
        }, filled

    return await send_form(
        page,
        form,
        body,
        lambda built: page.api.send("POST", path, built),
        "The amendment is added. Drafts follow at the next billing run; a posted month it "
        "reaches into gets a correction there.",
        form_id="amendment",
        back=contract_page(contract_id),
    )
