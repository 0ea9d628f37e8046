"""Invoicing's insights (the gateway merges them into ``GET /v1/insights``): held drafts
(``usage_anomaly``) and webhook endpoints disabled after days of failure
(``webhook_endpoint_disabled``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.assurance import holds
from services.invoicing.models import InvoiceRow
from services.invoicing.webhooks import service as webhooks
from services.invoicing.webhooks.models import WebhookEndpointRow
from shared.pagination import Page, page_of
from shared.problems import invalid
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["insights"])
_TIME = TypeAdapter(UtcDateTime)
MAX_KINDS = 20


class Kind(StrEnum):
    USAGE_ANOMALY = "usage_anomaly"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"


def _anomaly(invoice: InvoiceRow, hold: holds.Hold) -> dict[str, Any]:
    codes = ", ".join(r.service_code for r in hold.reasons)
    return {
        "kind": Kind.USAGE_ANOMALY.value,
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


def _disabled(endpoint: WebhookEndpointRow, waiting: int) -> dict[str, Any]:
    since: datetime = endpoint.failing_since or endpoint.updated_at
    since_text = _TIME.dump_python(since, mode="json")
    return {
        "kind": Kind.WEBHOOK_ENDPOINT_DISABLED.value,
        "severity": "warning",
        "webhook_id": endpoint.id,
        "url": endpoint.url,
        "since": since_text,
        "message": f"The webhook endpoint {endpoint.url} is disabled: every delivery failed "
        f"since {since_text}; {waiting} wait undelivered. Fix the receiver, then retry a "
        "delivery by hand to enable it again.",
        "count": waiting,
    }


def _kinds(values: list[str] | None) -> set[Kind]:
    asked = {k.strip() for value in values or () for k in value.split(",") if k.strip()}
    if unknown := sorted(asked - set(Kind)):
        raise invalid(
            ["query", "kind"],
            f"unknown kind(s) {', '.join(map(repr, unknown))}; invoicing's kinds are "
            f"{', '.join(Kind)}",
        )
    return {Kind(k) for k in asked} or set(Kind)


@router.get(
    "/insights",
    response_model=Page[dict[str, Any]],
    summary="List held drafts and disabled webhook endpoints as insights",
)
async def invoicing_insights(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    kind: Annotated[list[str] | None, Query(max_length=MAX_KINDS)] = None,
) -> Page[dict[str, Any]]:
    """``usage_anomaly`` (warning): one per held draft that nobody released;
    ``webhook_endpoint_disabled`` (warning): one per webhook endpoint disabled after days of
    failed deliveries (``webhook_id``, ``url``, ``since``: when every delivery began
    failing; ``count``: its deliveries waiting), gone once a manual retry succeeds or the
    endpoint is deleted. ``kind`` (comma-separated or repeated) narrows the answer."""
    kinds = _kinds(kind)
    found: list[dict[str, Any]] = []
    async with runtime.sessions() as session:
        if Kind.USAGE_ANOMALY in kinds:
            held = await holds.held_drafts(session, ctx.tenant_id)
            found += [_anomaly(invoice, hold) for invoice, hold in held]
        if Kind.WEBHOOK_ENDPOINT_DISABLED in kinds:
            disabled = await webhooks.disabled_endpoints(session, ctx.tenant_id)
            found += [_disabled(endpoint, waiting) for endpoint, waiting in disabled]
    return page_of(found, paging)
