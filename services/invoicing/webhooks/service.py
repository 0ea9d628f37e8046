"""Use cases of webhook endpoints: register one (its URL checked, its secret made), list,
delete, rotate the secret, and read the delivery log."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.webhooks import signing
from services.invoicing.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from services.invoicing.webhooks.targets import Resolver, TargetRefused, check_target, resolve
from shared.event_contract import public_events
from shared.pagination import Page, PageParams, paginate
from shared.problems import NotFound, invalid


def time_ordered_id(now: datetime) -> str:
    """A UUID whose first 48 bits are the Unix time in milliseconds (the UUIDv7 layout), so
    ids sort by creation and the logs page in order."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rest = int.from_bytes(os.urandom(10)) & ((1 << 74) - 1)
    value = (
        (millis << 80)
        | (0x7 << 76)
        | ((rest >> 62) << 64)
        | (0b10 << 62)
        | (rest & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def subscribable() -> list[str]:
    return sorted(cls.TYPE for cls in public_events())


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    events: Sequence[str]
    description: str | None


async def check_endpoint(
    new: NewEndpoint, allow_private: bool, resolver: Resolver = resolve
) -> None:
    """The event types, then the URL (resolved: outside any transaction)."""
    check_events(new.events)
    try:
        await check_target(new.url, allow_private, resolver)
    except TargetRefused as exc:
        raise invalid(["body", "url"], str(exc), f"The webhook URL is refused: {exc}.") from exc


def check_events(events: Sequence[str]) -> list[str]:
    known = subscribable()
    for i, name in enumerate(events):
        if name not in known:
            raise invalid(
                ["body", "events", i],
                f"{name!r} is not a public event type; one of: {', '.join(known)}",
            )
    return sorted(set(events))


async def create_endpoint(
    session: AsyncSession, tenant_id: str, new: NewEndpoint, now: datetime
) -> WebhookEndpointRow:
    """The endpoint with a fresh ``whsec_`` secret; the URL must have been checked
    (:func:`check_endpoint`)."""
    row = WebhookEndpointRow(
        id=time_ordered_id(now),
        tenant_id=tenant_id,
        url=new.url,
        events=check_events(new.events),
        description=new.description,
        secret=signing.new_secret(),
        status=EndpointStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_endpoint(
    session: AsyncSession, tenant_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpointRow:
    query = select(WebhookEndpointRow).where(
        WebhookEndpointRow.id == endpoint_id, WebhookEndpointRow.tenant_id == tenant_id
    )
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return row


async def list_endpoints(
    session: AsyncSession, tenant_id: str, params: PageParams
) -> Page[WebhookEndpointRow]:
    query = select(WebhookEndpointRow).where(WebhookEndpointRow.tenant_id == tenant_id)
    order = [WebhookEndpointRow.id.expression]
    return await paginate(session, query, order, params, lambda r: r[0], lambda r: [r[0].id])


async def disabled_endpoints(
    session: AsyncSession, tenant_id: str
) -> list[tuple[WebhookEndpointRow, int]]:
    """The tenant's disabled endpoints, oldest first, each with how many of its deliveries
    wait undelivered (the ``webhook_endpoint_disabled`` insight)."""
    waiting = (
        select(func.count())
        .where(
            WebhookDeliveryRow.endpoint_id == WebhookEndpointRow.id,
            WebhookDeliveryRow.status != DeliveryStatus.SUCCEEDED,
        )
        .correlate(WebhookEndpointRow)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(WebhookEndpointRow, waiting)
        .where(
            WebhookEndpointRow.tenant_id == tenant_id,
            WebhookEndpointRow.status == EndpointStatus.DISABLED,
        )
        .order_by(WebhookEndpointRow.id)
    )
    return [(endpoint, int(count)) for endpoint, count in rows]


async def delete_endpoint(session: AsyncSession, tenant_id: str, endpoint_id: str) -> None:
    """Its queued deliveries and their log go with it."""
    row = await get_endpoint(session, tenant_id, endpoint_id)
    await session.delete(row)


async def rotate_secret(
    session: AsyncSession, tenant_id: str, endpoint_id: str, now: datetime, overlap: timedelta
) -> WebhookEndpointRow:
    """A new secret; the old one keeps signing beside it for ``overlap`` so receivers can
    switch without losing a message."""
    row = await get_endpoint(session, tenant_id, endpoint_id, lock=True)
    row.previous_secret = row.secret
    row.previous_expires_at = now + overlap
    row.secret = signing.new_secret()
    row.updated_at = now
    await session.flush()
    return row


async def list_deliveries(
    session: AsyncSession, tenant_id: str, endpoint_id: str, params: PageParams
) -> Page[WebhookDeliveryRow]:
    """Oldest first (ids are time-ordered), each with its attempts."""
    await get_endpoint(session, tenant_id, endpoint_id)
    query = (
        select(WebhookDeliveryRow)
        .options(selectinload(WebhookDeliveryRow.log))
        .where(WebhookDeliveryRow.endpoint_id == endpoint_id)
    )
    order = [WebhookDeliveryRow.id.expression]
    return await paginate(session, query, order, params, lambda r: r[0], lambda r: [r[0].id])


async def get_delivery(
    session: AsyncSession, tenant_id: str, endpoint_id: str, delivery_id: str
) -> WebhookDeliveryRow:
    row = await session.scalar(
        select(WebhookDeliveryRow)
        .options(selectinload(WebhookDeliveryRow.log))
        .where(
            WebhookDeliveryRow.id == delivery_id,
            WebhookDeliveryRow.endpoint_id == endpoint_id,
            WebhookDeliveryRow.tenant_id == tenant_id,
        )
    )
    if row is None:
        raise NotFound(f"No delivery {delivery_id} of webhook endpoint {endpoint_id}.")
    return row
