"""Invoicing's insights (the gateway merges them into ``GET /v1/insights``): held drafts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.assurance import holds
from services.invoicing.models import InvoiceRow
from shared.pagination import Page, page_of

router = APIRouter(prefix="/v1", tags=["insights"])


def _insight(invoice: InvoiceRow, hold: holds.Hold) -> dict[str, Any]:
    codes = ", ".join(r.service_code for r in hold.reasons)
    return {
        "kind": "usage_anomaly",
        "severity": "warning",
        "company_id": invoice.company_id,
        "invoice_id": invoice.id,
        "period": invoice.period,
        "message": f"The {invoice.period} draft ({invoice.currency}) is held: unusual "
        f"quantities of {codes}. Check them, then release it with a note to post it.",
        "count": len(hold.reasons),
        "items": [
            {
                "line_id": r.line_id,
                "service_code": r.service_code,
                "quantity": str(r.quantity),
                "baseline": str(r.baseline),
            }
            for r in hold.reasons
        ],
    }


@router.get(
    "/insights", response_model=Page[dict[str, Any]], summary="List held drafts as insights"
)
async def anomaly_insights(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[dict[str, Any]]:
    """``usage_anomaly`` (warning): one per held draft that nobody released."""
    async with runtime.sessions() as session:
        found = await holds.held_drafts(session, ctx.tenant_id)
    return page_of([_insight(invoice, hold) for invoice, hold in found], paging)
