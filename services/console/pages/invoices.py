"""Invoices: the list (company, period, kind, status, total, balance, hold), and one
invoice with its lines explained day by day, and what can be done with it: "Post",
"Release hold", "Void", "Record payment", "Download PDF"."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.charts import Chart, Point, bar_chart
from services.console.client import Api, gather
from services.console.pages.overview import is_held
from services.console.views import HEADERS, ROOT, SignedIn, act, checked_form

router = APIRouter()
PAGE_SIZE = 50
STATUSES = ("draft", "posted", "paid", "void")
KINDS = ("invoice", "adjustment", "credit_note")


def invoice_page(invoice_id: str) -> str:
    return f"{ROOT}/invoices/{quote(invoice_id, safe='')}"


@router.get("/invoices")
async def invoices(
    page: SignedIn,
    period: str = "",
    status: str = "",
    kind: str = "",
    company_id: str = "",
    overdue: str = "",
    cursor: str = "",
) -> HTMLResponse:
    params = {
        "period": period,
        "status": status,
        "kind": kind,
        "company_id": company_id,
        "overdue": overdue,
        "cursor": cursor,
    }
    listed = await page.api.get("/v1/invoices", **params, limit=PAGE_SIZE)
    return page.render(
        "invoices.html",
        title="Invoices",
        current="Invoices",
        invoices=listed["items"],
        next_cursor=listed.get("next_cursor"),
        params=params,
        statuses=STATUSES,
        kinds=KINDS,
        last_month=last_month(page.today()),
    )


def last_month(today: dt.date) -> str:
    previous = today.replace(day=1) - dt.timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def is_period(text: str) -> bool:
    try:
        dt.date.fromisoformat(text + "-01")
    except ValueError:
        return False
    return len(text) == 7


@router.post("/billing-runs")
async def billing_run(page: SignedIn) -> Response:
    form = await checked_form(page)
    period = form.get("period", "").strip()

    def outcome(run: dict[str, Any]) -> str:
        if "invoices" in run:
            return (
                f"Billing run for {period}: {run['invoices']} invoices, "
                f"{run.get('corrections', 0)} corrections."
            )
        return f"The billing run for {period} is still going; reload this page in a moment."

    return await act(
        page,
        form,
        lambda: page.api.send("POST", "/v1/billing-runs", {"period": period}),
        outcome,
        form_id="billing-run",
        default_back=f"{ROOT}/invoices" + (f"?period={period}" if is_period(period) else ""),
    )


def source_chart(line: dict[str, Any], source: dict[str, Any]) -> Chart:
    points = [
        Point(dt.date.fromisoformat(d["date"]), Decimal(d["quantity"]), bool(d.get("estimated")))
        for d in source.get("days", ())
    ]
    return bar_chart(
        f"{source['module']} {source['metric']} per day ({line['service_code']})", points
    )


def multiplies_out(line: dict[str, Any]) -> bool:
    try:
        product = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        amount = Decimal(line["amount"])
    except (InvalidOperation, KeyError, TypeError):
        return False
    return abs(product - amount) < Decimal("0.005")


@router.get("/invoices/{invoice_id}")
async def invoice(page: SignedIn, invoice_id: str) -> HTMLResponse:
    api = page.api
    path = f"/v1/invoices/{quote(invoice_id, safe='')}"
    found, payments = await asyncio.gather(api.get(path), api.get_or_none(f"{path}/payments"))
    credit_targets = await open_invoices_to_credit(api, found)
    explanations = await gather(
        api.get_or_none(f"{path}/lines/{quote(line['id'], safe='')}/explain")
        for line in found["lines"]
    )
    lines = []
    for n, (line, explained) in enumerate(zip(found["lines"], explanations, strict=True)):
        charts = [source_chart(line, s) for s in (explained or {}).get("sources", ())]
        lines.append(
            {"line": line, "n": n, "charts": charts, "multiplies_out": multiplies_out(line)}
        )
    return page.render(
        "invoice.html",
        title=f"Invoice {found.get('display_number') or found.get('number') or 'draft'}",
        current="Invoices",
        invoice=found,
        lines=lines,
        payments=(payments or {}).get("items", []),
        held=is_held(found),
        credit_targets=credit_targets,
        today=page.today(),
    )


async def open_invoices_to_credit(api: Api, document: dict[str, Any]) -> list[dict[str, Any]]:
    """For a posted credit note with credit left: the company's posted invoices and
    adjustments of its currency with a balance, to apply the credit to."""
    if document["kind"] != "credit_note" or document["status"] not in ("posted", "paid"):
        return []
    if not Decimal(str(document.get("unapplied") or 0)):
        return []
    listed = await api.get(
        "/v1/invoices", company_id=document["company_id"], status="posted", limit=100
    )
    return [
        i
        for i in listed["items"]
        if i["kind"] != "credit_note"
        and i["currency"] == document["currency"]
        and Decimal(str(i["balance"])) > 0
    ]


@router.get("/invoices/{invoice_id}/pdf")
async def pdf(page: SignedIn, invoice_id: str) -> Response:
    answer = await page.api.call(
        "GET", f"/v1/invoices/{quote(invoice_id, safe='')}", accept="application/pdf"
    )
    headers = {
        **HEADERS,
        "Content-Disposition": answer.headers.get(
            "content-disposition", f'attachment; filename="invoice-{invoice_id}.pdf"'
        ),
    }
    return Response(answer.content, media_type="application/pdf", headers=headers)


async def invoice_action(
    page: SignedIn,
    invoice_id: str,
    action: str,
    body: Any,
    done: str,
    form_id: str | None = None,
) -> Response:
    """One form's POST to ``/v1/invoices/{id}/{action}``, back on the invoice's page."""
    form = await checked_form(page)
    path = f"/v1/invoices/{quote(invoice_id, safe='')}/{action}"
    return await act(
        page,
        form,
        lambda: page.api.send("POST", path, body(form) if callable(body) else body),
        done,
        form_id=form_id or action,
        default_back=invoice_page(invoice_id),
    )


@router.post("/invoices/{invoice_id}/post")
async def post(page: SignedIn, invoice_id: str) -> Response:
    return await invoice_action(page, invoice_id, "post", None, "The invoice is posted.")


@router.post("/invoices/{invoice_id}/release")
async def release(page: SignedIn, invoice_id: str) -> Response:
    return await invoice_action(
        page,
        invoice_id,
        "release",
        lambda form: {"note": form.get("note", "")},
        "The hold is released; the draft can be posted.",
    )


@router.post("/invoices/{invoice_id}/void")
async def void(page: SignedIn, invoice_id: str) -> Response:
    return await invoice_action(page, invoice_id, "void", None, "The invoice is void.")


@router.post("/invoices/{invoice_id}/payments")
async def record_payment(page: SignedIn, invoice_id: str) -> Response:
    return await invoice_action(
        page,
        invoice_id,
        "payments",
        lambda form: {
            "amount": form.get("amount", ""),
            "received_on": form.get("received_on", ""),
            "reference": form.get("reference", ""),
        },
        "The payment is recorded.",
    )
