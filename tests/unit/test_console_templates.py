"""Fields other parts of the API add over time (``hold``, ``overdue``, ``pricing_detail``,
``versions``) are shown when an answer has them, and their absence breaks nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request

from services.console.session import Session
from services.console.views import NAVIGATION, ROOT, templates

BILLING = Session(key="k", key_id="kid", role="billing", csrf="tok")
VIEWER = Session(key="k", key_id="kid", role="viewer", csrf="tok")


def request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    )


def render(name: str, session: Session, **context: Any) -> str:
    return (
        templates()
        .get_template(name)
        .render(
            request=request("/console/x"),
            flash=None,
            navigation=NAVIGATION,
            root=ROOT,
            session=session,
            **context,
        )
    )


def invoice(**extra: Any) -> dict[str, Any]:
    return {
        "id": "inv-1",
        "number": None,
        "kind": "invoice",
        "company_id": "c-1",
        "company_name": "Contoso",
        "period": "2026-10",
        "currency": "EUR",
        "status": "draft",
        "subtotal": "1000.00",
        "tax_rate": "0.19",
        "tax": "190.00",
        "total": "1190.00",
        "balance": "1190.00",
        "lines": [],
        **extra,
    }


HOLD = {"reasons": [{"line_id": "l1", "service_code": "RMM", "quantity": "90", "baseline": "30"}]}


def page(session: Session, found: dict[str, Any], held: bool) -> str:
    return render(
        "invoice.html",
        session,
        title="Invoice",
        current="Invoices",
        invoice=found,
        lines=[],
        payments=[],
        held=held,
        today=dt.date(2026, 11, 30),
    )


def test_a_held_draft_offers_release_to_a_writer_and_names_its_reasons() -> None:
    html = page(BILLING, invoice(hold=HOLD, overdue=False), held=True)
    # Posting waits for the release (the API would refuse it), so "Post" is not offered.
    assert ">Release hold</button>" in html and ">Post</button>" not in html
    assert (
        '<tr><th scope="row" data-label="Service">RMM</th><td class="num" data-label="This '
        'period">90</td><td class="num" data-label="Baseline">30</td><td class="num" '
        'data-label="Change">+200 %</td></tr>'
    ) in html
    assert 'aria-label="Hold reasons"' in html
    assert 'class="badge held"' in html
    assert ">Release hold</button>" not in page(VIEWER, invoice(hold=HOLD), held=True)


def test_a_released_hold_and_an_answer_without_hold_fields() -> None:
    released = {**HOLD, "released_at": "2026-11-30T10:00:00Z", "note": "new site"}
    html = page(BILLING, invoice(hold=released), held=False)
    assert "Hold released" in html and "new site" in html
    assert ">Release hold</button>" not in html
    plain = page(BILLING, invoice(), held=False)
    assert "hold" not in plain.lower().replace("placeholder", "")
    assert "Tax (19 %)" in plain


def test_the_list_shows_hold_and_overdue_when_present() -> None:
    listed = [
        invoice(id="a", hold=HOLD, overdue=True, status="posted", number="2026-0001"),
        invoice(id="b"),
    ]
    html = render(
        "invoices.html",
        VIEWER,
        title="Invoices",
        current="Invoices",
        invoices=listed,
        next_cursor=None,
        params={"period": "", "status": "", "kind": "", "company_id": "", "overdue": ""},
        statuses=("draft",),
        kinds=("invoice",),
    )
    assert html.count('class="badge held"') == 1
    assert html.count('class="badge overdue"') == 1
    assert "1,190.00 EUR" in html and "2026-0001" in html


def test_company_totals_by_month_per_currency_without_void_invoices() -> None:
    from services.console.pages.companies import monthly_totals

    charts = monthly_totals(
        [
            invoice(period="2026-09", total="100.00"),
            invoice(period="2026-10", total="80.00"),
            invoice(period="2026-10", total="-20.00", kind="credit_note"),
            invoice(period="2026-10", total="999.00", status="void"),
            invoice(period="2026-10", total="5.00", currency="USD"),
        ]
    )
    assert [c.title for c in charts] == [
        "Invoice totals by month (EUR)",
        "Invoice totals by month (USD)",
    ]
    assert [b.label for b in charts[0].bars] == ["2026-09: 100 EUR", "2026-10: 60 EUR"]
