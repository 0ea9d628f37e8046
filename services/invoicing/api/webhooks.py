"""``/v1/webhooks``: endpoints that receive the public events (Standard Webhooks), their
delivery log and manual retries."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.webhooks import service
from services.invoicing.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from shared.clock import utc_now
from shared.pagination import Page
from shared.wire import UtcDateTime

router = APIRouter(prefix="/v1", tags=["webhooks"])


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="https:// (or http://) URL on a public address.",
    )
    events: list[str] = Field(
        min_length=1, max_length=50, description="Public event types, e.g. invoice.posted."
    )
    description: str | None = Field(default=None, max_length=500)


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    events: list[str]
    description: str | None
    status: EndpointStatus = Field(
        description="disabled after days of failed deliveries; a successful manual retry "
        "enables it again"
    )
    disabled_reason: str | None
    created_at: UtcDateTime


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(
        description="whsec_ + base64 of the signing key; shown only in this answer."
    )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempted_at: UtcDateTime
    response_status: int | None = Field(description="None: no HTTP answer (see error)")
    error: str | None
    duration_ms: int
    manual: bool


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    event_id: str = Field(description="The webhook-id header of every attempt.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: UtcDateTime | None
    last_attempt_at: UtcDateTime | None
    delivered_at: UtcDateTime | None
    created_at: UtcDateTime
    log: list[AttemptOut]


def _with_secret(row: WebhookEndpointRow) -> WebhookWithSecretOut:
    return WebhookWithSecretOut(**WebhookOut.model_validate(row).model_dump(), secret=row.secret)


def _delivery(row: WebhookDeliveryRow) -> DeliveryOut:
    return DeliveryOut.model_validate(row)


@router.post("/webhooks", status_code=201, response_model=WebhookWithSecretOut)
async def create_webhook(body: WebhookIn, ctx: Caller, runtime: Runtime) -> WebhookWithSecretOut:
    """A new endpoint; its signing secret is shown only in this answer."""
    new = service.NewEndpoint(body.url, body.events, body.description)
    await service.check_endpoint(new, runtime.settings.webhook_allow_private)
    async with runtime.transaction() as session:
        row = await service.create_endpoint(session, ctx.tenant_id, new, utc_now())
    return _with_secret(row)


@router.get("/webhooks", response_model=Page[WebhookOut])
async def list_webhooks(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[WebhookOut]:
    async with runtime.sessions() as session:
        page = await service.list_endpoints(session, ctx.tenant_id, paging)
    return Page(
        items=[WebhookOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """Stops deliveries at once; the endpoint's log goes with it."""
    async with runtime.transaction() as session:
        await service.delete_endpoint(session, ctx.tenant_id, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/secret-rotation", response_model=WebhookWithSecretOut)
async def rotate_webhook_secret(
    webhook_id: str, ctx: Caller, runtime: Runtime
) -> WebhookWithSecretOut:
    """A new secret, shown only here; the previous one keeps signing beside it (two
    signatures in ``webhook-signature``) for ``ICB_WEBHOOK_SECRET_OVERLAP_HOURS``."""
    overlap = timedelta(hours=runtime.settings.webhook_secret_overlap_hours)
    async with runtime.transaction() as session:
        row = await service.rotate_secret(session, ctx.tenant_id, webhook_id, utc_now(), overlap)
    return _with_secret(row)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_webhook_deliveries(
    webhook_id: str, ctx: Caller, runtime: Runtime, paging: Paging
) -> Page[DeliveryOut]:
    """Every event queued for the endpoint, oldest first, with each attempt's outcome."""
    async with runtime.sessions() as session:
        page = await service.list_deliveries(session, ctx.tenant_id, webhook_id, paging)
    return Page(items=[_delivery(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_webhook_delivery(
    webhook_id: str, delivery_id: str, ctx: Caller, runtime: Runtime
) -> DeliveryOut:
    """One attempt now, outside the back-off schedule; the answer shows its outcome."""
    row = await runtime.webhooks.retry_now(ctx.tenant_id, webhook_id, delivery_id)
    return _delivery(row)
