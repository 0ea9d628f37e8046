"""What section 12 lets a clerk do on an invoice's page besides recording a payment: a
payment reversed with its reason, and a credit note's credit applied to an invoice or
refunded."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.pages.invoices import invoice_action
from services.console.views import SignedIn

router = APIRouter()


@router.post("/invoices/{invoice_id}/payments/{payment_id}/reversal")
async def reverse_payment(page: SignedIn, invoice_id: str, payment_id: str) -> Response:
    return await invoice_action(
        page,
        invoice_id,
        f"payments/{quote(payment_id, safe='')}/reversal",
        lambda form: {"reason": form.get("reason", "")},
        "The payment is reversed; the balance is open again.",
        form_id=f"reversal-{payment_id}",
    )


@router.post("/invoices/{credit_note_id}/applications")
async def apply_credit(page: SignedIn, credit_note_id: str) -> Response:
    return await invoice_action(
        page,
        credit_note_id,
        "applications",
        lambda form: {"invoice_id": form.get("invoice_id", ""), "amount": form.get("amount", "")},
        "The credit is applied to the invoice.",
    )


@router.post("/invoices/{credit_note_id}/refunds")
async def refund_credit(page: SignedIn, credit_note_id: str) -> Response:
    return await invoice_action(
        page,
        credit_note_id,
        "refunds",
        lambda form: {
            "amount": form.get("amount", ""),
            "paid_on": form.get("paid_on") or None,
            "reference": form.get("reference") or None,
        },
        "The refund is recorded.",
    )
