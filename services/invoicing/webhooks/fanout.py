"""From the bus to the delivery queue: every public event becomes one queued delivery per
endpoint of its tenant subscribed to its type, in the transaction that commits the offset.

A delivery is due one ``ORDER_HOLD`` after its event occurred, not at once: events of one
invoice travel on different topics (``payment.recorded`` and ``invoice.paid`` of one
transaction), which Kafka does not order against each other; the hold lets the earlier one be
queued before the later one is sent, and the deliverer sends them in ``occurred_at`` order.

No inbox here: the delivery's natural key ``(endpoint_id, event_id)`` makes a redelivered
event insert nothing (``ON CONFLICT DO NOTHING``), and other invoicing consumers keep the
inbox's event ids to themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from services.invoicing.webhooks.models import (
    DeliveryStatus,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from services.invoicing.webhooks.service import time_ordered_id
from shared.bus import Message
from shared.clock import Clock, utc_now
from shared.consumer import EventConsumer
from shared.db import dialect_of, insert
from shared.events import EnvelopeHead, Event

ORDER_HOLD = timedelta(seconds=1)


def ordering_key(envelope_data: dict[str, Any], event_id: str) -> str:
    """The invoice an event is about (its deliveries keep their order), else the event
    itself: ``data.invoice.id``, or ``data.invoice_id``."""
    invoice = envelope_data.get("invoice")
    if isinstance(invoice, dict) and isinstance(key := invoice.get("id"), str):
        return key
    invoice_id = envelope_data.get("invoice_id")
    return invoice_id if isinstance(invoice_id, str) else event_id


class WebhookFanout(EventConsumer):
    clock: Clock = staticmethod(utc_now)

    async def _process(self, items: Sequence[tuple[Message, EnvelopeHead, Event]]) -> None:
        tenants = {envelope.tenant_id for _, envelope, _ in items}
        async with self.sessions() as session, session.begin():
            endpoints = list(
                await session.scalars(
                    select(WebhookEndpointRow).where(WebhookEndpointRow.tenant_id.in_(tenants))
                )
            )
            now = self.clock()
            rows = [
                _delivery(endpoint, message, envelope, now)
                for message, envelope, event in items
                for endpoint in endpoints
                if endpoint.tenant_id == envelope.tenant_id and event.TYPE in endpoint.events
            ]
            if rows:
                table = WebhookDeliveryRow.__table__
                stmt = insert(table, dialect_of(session)).values(rows)  # type: ignore[arg-type]
                await session.execute(
                    stmt.on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
                )


def _delivery(
    endpoint: WebhookEndpointRow, message: Message, envelope: EnvelopeHead, now: datetime
) -> dict[str, Any]:
    body = message.value.decode()
    event_id = str(envelope.id)
    data = orjson.loads(message.value).get("data") or {}
    return {
        "id": time_ordered_id(now),
        "tenant_id": envelope.tenant_id,
        "endpoint_id": endpoint.id,
        "event_id": event_id,
        "event_type": envelope.type,
        "ordering_key": ordering_key(data, event_id)[:100],
        "payload": body,
        "occurred_at": envelope.occurred_at,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": max(now, envelope.occurred_at + ORDER_HOLD),
        "created_at": now,
    }
