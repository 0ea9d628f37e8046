"""Reconciliation: a month's usage against what was billed and what the vendors charged, per
module and metric, with every unbilled quantity under its reason; the margin per company;
and the upload of a vendor bill as CSV (billing and admin keys)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.client import ApiProblem
from services.console.pages.invoices import is_period, last_month
from services.console.views import (
    ROOT,
    SignedIn,
    SignInNeeded,
    checked_upload,
    explain,
    local_path,
    redirect,
    refuse,
)

router = APIRouter()
PAGE = f"{ROOT}/reconciliation"
MARGIN_PAGE_SIZE = 50
FILE_FIELD = "bill_csv"
FORM_ID = "vendor-bill"
CSV_COLUMNS = ("module", "period", "currency", "metric", "quantity", "unit_cost")
REASONS = (
    ("billing_disabled", "Billing off", "days on which the module's billing was off"),
    ("excluded_org", "Excluded org", "orgs excluded from billing"),
    ("unmapped_org", "Unmapped org", "orgs not yet mapped to a company"),
    ("unmapped_metric", "Metric without service", "metrics no service mapping covers"),
    ("no_contract", "No contract", "usage no contract of the company has a service for"),
)
"""The API's unbilled reasons in its order: key, column heading, what it means."""
ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Row:
    module: str
    module_name: str
    metric: str
    vendor: Decimal | None
    usage: Decimal
    billed: Decimal
    unbilled: dict[str, Decimal]
    difference: Decimal | None

    @property
    def differs(self) -> bool:
        return bool(self.difference)

    @property
    def has_unbilled(self) -> bool:
        return any(self.unbilled.values())


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def row_of(item: dict[str, Any], names: dict[str, str]) -> Row:
    return Row(
        module=item["module"],
        module_name=names.get(item["module"], item["module"]),
        metric=item["metric"],
        vendor=_decimal(item.get("vendor_quantity")),
        usage=Decimal(item["usage_quantity"]),
        billed=Decimal(item["billed_quantity"]),
        unbilled={k: Decimal(item["unbilled"][k]) for k, _, _ in REASONS},
        difference=_decimal(item.get("difference")),
    )


def previous_and_next(period: str) -> tuple[str, str]:
    year, month = int(period[:4]), int(period[5:])
    before = (year, month - 1) if month > 1 else (year - 1, 12)
    after = (year, month + 1) if month < 12 else (year + 1, 1)
    return f"{before[0]:04d}-{before[1]:02d}", f"{after[0]:04d}-{after[1]:02d}"


@router.get("/reconciliation")
async def reconciliation(page: SignedIn, period: str = "", margin_cursor: str = "") -> HTMLResponse:
    default = last_month(page.today())
    period_error = ""
    if period and not is_period(period):
        period_error = f"“{period}” is not a month; choose one as YYYY-MM, e.g. {default}."
        period = ""
    period = period or default
    api = page.api
    found, margin, bills, modules = await asyncio.gather(
        api.get("/v1/reconciliation", period=period),
        api.get("/v1/reports/margin", period=period, limit=MARGIN_PAGE_SIZE, cursor=margin_cursor),
        api.items("/v1/vendor-bills", 1, period=period),
        api.items("/v1/modules", 1, limit=100),
    )
    names = {m["module"]: m["name"] for m in modules[0]}
    rows = [row_of(item, names) for item in found["items"]]
    before, after = previous_and_next(period)
    return page.render(
        "reconciliation.html",
        title="Reconciliation",
        current="Reconciliation",
        period=period,
        period_error=period_error,
        before=before,
        after=after,
        days=found["days"],
        rows=rows,
        differing=sum(1 for r in rows if r.differs),
        unbilled_rows=sum(1 for r in rows if r.has_unbilled),
        reasons=REASONS,
        margins=margin["items"],
        totals=margin["totals"],
        margin_next=margin.get("next_cursor"),
        margin_params={"period": period, "margin_cursor": margin_cursor},
        bills=bills[0],
        names=names,
        file_field=FILE_FIELD,
        form_id=FORM_ID,
        csv_columns=",".join(CSV_COLUMNS),
    )


def where(loc: list[str | int]) -> str:
    """Where in the file an error is, as a clerk would look for it."""
    if not loc:
        return "The file"
    head, rest = loc[0], loc[1:]
    if head == "header":
        return "The first line (the column names)"
    if isinstance(head, int) or str(head).isdigit():
        column = next((str(p) for p in rest if str(p) in CSV_COLUMNS), None)
        return f"Line {head}" + (f", column {column}" if column else "")
    return f"Column {head}"


def file_errors(problem: ApiProblem) -> str:
    """The API's errors about the file, each with the line and column it names."""
    described = [f"{where(loc)}: {msg}" for loc, msg in problem.errors[:ERRORS_SHOWN]]
    more = len(problem.errors) - ERRORS_SHOWN
    if more > 0:
        described.append(f"and {more} more")
    return "; ".join(described) if described else explain(problem)


def recorded(answer: dict[str, Any]) -> str:
    bills = answer.get("bills", [answer])
    listed = ", ".join(
        f"{b['module']} {b['period']} ({len(b['lines'])} line{'' if len(b['lines']) == 1 else 's'}"
        f", {b['currency']})"
        for b in bills
    )
    return f"Vendor bill{'' if len(bills) == 1 else 's'} recorded: {listed}."


@router.post("/vendor-bills")
async def upload_vendor_bill(page: SignedIn) -> Response:
    upload = await checked_upload(page, FILE_FIELD)
    back = local_path(upload.form.get("back"), PAGE)

    def refused(text: str, field_text: str) -> Response:
        return refuse(page, upload.form, text, {FILE_FIELD: field_text}, form_id=FORM_ID, back=back)

    if upload.too_large:
        return refused("The file was not recorded.", "The file is larger than 5 MB; split it.")
    if not upload.content.strip():
        return refused("Nothing was recorded.", "Choose a CSV file of the vendor's bill.")
    try:
        answer = await page.api.upload("/v1/vendor-bills", upload.content, "text/csv")
    except ApiProblem as problem:
        if problem.status == 401:
            raise SignInNeeded(back) from problem
        text = "The file was not recorded; nothing changed. Correct it and upload it again."
        if problem.status == 422:
            return refused(text, file_errors(problem))
        return refused(text if problem.status != 403 else explain(problem), explain(problem))
    notice = {"kind": "notice", "text": recorded(answer), "form": FORM_ID}
    return redirect(page.request, back, notice)
