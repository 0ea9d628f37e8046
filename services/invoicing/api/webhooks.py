"""``/v1/webhooks``: endpoints that receive the public events (Standard Webhooks), their
delivery log and manual retries."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import ConfigDict, Field

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.webhooks import service
from services.invoicing.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from shared.clock import utc_now
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["webhooks"])


class WebhookIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {
                "url": "https://accounting.example.com/hooks/icb",
                "events": ["invoice.posted", "payment.recorded"],
                "description": "Bookkeeping sync",
            }
        ),
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="https:// (or http://) URL on a public address.",
    )
    events: list[str] = Field(
        min_length=1, max_length=50, description="Public event types, e.g. invoice.posted."
    )
    description: str | None = Field(default=None, max_length=500)
    """What the endpoint is for."""


class WebhookOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    """The endpoint's id."""
    url: str
    """Where deliveries are POSTed."""
    events: list[str]
    """The public event types delivered."""
    description: str | None
    """What the endpoint is for."""
    status: EndpointStatus = Field(
        description="disabled after days of failed deliveries; a successful manual retry "
        "enables it again"
    )
    disabled_reason: str | None
    """Why it was disabled; null while enabled."""
    created_at: UtcDateTime
    """When it was created."""


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(
        description="whsec_ + base64 of the signing key; shown only in this answer."
    )


class AttemptOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    attempted_at: UtcDateTime
    """When the attempt was made."""
    response_status: int | None = Field(description="None: no HTTP answer (see error)")
    error: str | None
    """Why it failed without an HTTP answer or with a non-2xx one."""
    duration_ms: int
    """How long the attempt took."""
    manual: bool
    """Whether it was a retry by hand."""


class DeliveryOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    """The delivery's id."""
    event_id: str = Field(description="The webhook-id header of every attempt.")
    event_type: str
    """The event's type."""
    status: DeliveryStatus
    """Pending (retries scheduled), delivered, or failed (retries exhausted)."""
    attempts: int
    """Attempts made so far."""
    next_attempt_at: UtcDateTime | None
    """When the next automatic attempt is due; null when none is."""
    last_attempt_at: UtcDateTime | None
    """When the latest attempt was made."""
    delivered_at: UtcDateTime | None
    """When a 2xx answer came."""
    created_at: UtcDateTime
    """When the event was queued for the endpoint."""
    log: list[AttemptOut]
    """Every attempt, oldest first."""


def _with_secret(row: WebhookEndpointRow) -> WebhookWithSecretOut:
    return WebhookWithSecretOut(**WebhookOut.model_validate(row).model_dump(), secret=row.secret)


def _delivery(row: WebhookDeliveryRow) -> DeliveryOut:
    return DeliveryOut.model_validate(row)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookWithSecretOut,
    summary="Create a webhook endpoint",
)
async def create_webhook(body: WebhookIn, ctx: Caller, runtime: Runtime) -> WebhookWithSecretOut:
    """A new endpoint; its signing secret is shown only in this answer."""
    new = service.NewEndpoint(body.url, body.events, body.description)
    await service.check_endpoint(new, runtime.settings.webhook_allow_private)
    async with runtime.transaction() as session:
        row = await service.create_endpoint(session, ctx.tenant_id, new, utc_now())
    return _with_secret(row)


@router.get("/webhooks", response_model=Page[WebhookOut], summary="List webhook endpoints")
async def list_webhooks(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[WebhookOut]:
    """The tenant's endpoints, without their secrets."""
    async with runtime.sessions() as session:
        page = await service.list_endpoints(session, ctx.tenant_id, paging)
    return Page(
        items=[WebhookOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook endpoint")
async def delete_webhook(webhook_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """Stops deliveries at once; the endpoint's log goes with it."""
    async with runtime.transaction() as session:
        await service.delete_endpoint(session, ctx.tenant_id, webhook_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/secret-rotation",
    response_model=WebhookWithSecretOut,
    summary="Rotate a webhook endpoint's secret",
)
async def rotate_webhook_secret(
    webhook_id: str, ctx: Caller, runtime: Runtime
) -> WebhookWithSecretOut:
    """A new secret, shown only here; the previous one keeps signing beside it (two
    signatures in ``webhook-signature``) for ``ICB_WEBHOOK_SECRET_OVERLAP_HOURS``."""
    overlap = timedelta(hours=runtime.settings.webhook_secret_overlap_hours)
    async with runtime.transaction() as session:
        row = await service.rotate_secret(session, ctx.tenant_id, webhook_id, utc_now(), overlap)
    return _with_secret(row)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="List a webhook endpoint's deliveries",
)
async def list_webhook_deliveries(
    webhook_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[DeliveryOut]:
    """Every event queued for the endpoint, oldest first, with each attempt's outcome."""
    async with runtime.sessions() as session:
        page = await service.list_deliveries(session, ctx.tenant_id, webhook_id, paging)
    return Page(items=[_delivery(r) for r in page.items], next_cursor=page.next_cursor)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    summary="Retry a delivery by hand",
)
async def retry_webhook_delivery(
    webhook_id: str, delivery_id: str, ctx: Caller, runtime: Runtime
) -> DeliveryOut:
    """One attempt now, outside the back-off schedule; the answer shows its outcome."""
    row = await runtime.webhooks.retry_now(ctx.tenant_id, webhook_id, delivery_id)
    return _delivery(row)
