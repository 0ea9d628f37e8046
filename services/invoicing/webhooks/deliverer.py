"""Works the delivery queue: due deliveries claimed under a lease, sent concurrently with a
bound per endpoint, the outcome logged and the next attempt scheduled.

- **Order per invoice**: a delivery is due only when no earlier delivery (by the event's
  ``occurred_at``) of the same endpoint and ordering key is still pending, so one invoice's
  events arrive one after another in order, while other invoices go on.
- **At least once**: a claimed delivery's ``next_attempt_at`` moves past the request's
  timeout (the lease); if the process dies mid-request the delivery is due again after it.
- **One slow endpoint delays nobody else**: each endpoint has ``endpoint_concurrency`` slots;
  a full endpoint's deliveries are not claimed, so they never hold a slot another endpoint
  could use, and a claimed delivery is sent at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.invoicing.webhooks import service, signing
from services.invoicing.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from services.invoicing.webhooks.schedule import Jitter, RetryPolicy
from services.invoicing.webhooks.sender import Outcome, Sender
from shared.clock import Clock, utc_now
from shared.db import dialect_of
from shared.drain import DrainLoop
from shared.events import WebhookEndpointDisabled
from shared.outbox import Outbox
from shared.problems import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    event_id: str
    payload: str


def valid_secrets(endpoint: WebhookEndpointRow, now: datetime) -> tuple[str, ...]:
    previous = endpoint.previous_secret
    expires = endpoint.previous_expires_at
    if previous and expires is not None and _aware(expires) > now:
        return (endpoint.secret, previous)
    return (endpoint.secret,)


@dataclass
class Deliverer(DrainLoop):
    sessions: async_sessionmaker[AsyncSession]
    sender: Sender
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    endpoint_concurrency: int = 4
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 1.0
    clock: Clock = utc_now
    jitter: Jitter = random.random
    outbox: Outbox | None = None
    """Where ``webhook.endpoint_disabled`` goes (the service's outbox)."""
    _busy: Counter[str] = field(default_factory=Counter)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        DrainLoop.__init__(self, self.poll_seconds, "webhook deliverer")

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            for task in self._tasks:
                task.cancel()
            await self.sender.close()

    async def drain_once(self) -> int:
        claimed = await self.claim()
        for item in claimed:
            self._busy[item.endpoint_id] += 1
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def in_flight(self) -> int:
        """Waits for the deliveries being sent and answers how many there were."""
        tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def claim(self) -> list[Claimed]:
        now = self.clock()
        full = [e for e, n in self._busy.items() if n >= self.endpoint_concurrency]
        d, earlier = WebhookDeliveryRow, aliased(WebhookDeliveryRow)
        blocked = exists().where(
            earlier.endpoint_id == d.endpoint_id,
            earlier.ordering_key == d.ordering_key,
            earlier.status == DeliveryStatus.PENDING,
            or_(
                earlier.occurred_at < d.occurred_at,
                and_(earlier.occurred_at == d.occurred_at, earlier.id < d.id),
            ),
        )
        query = (
            select(d, WebhookEndpointRow)
            .join(WebhookEndpointRow, WebhookEndpointRow.id == d.endpoint_id)
            .where(
                d.status == DeliveryStatus.PENDING,
                d.next_attempt_at <= now,
                WebhookEndpointRow.status == EndpointStatus.ACTIVE,
                ~blocked,
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(self.batch_size)
        )
        if full:
            query = query.where(d.endpoint_id.not_in(full))
        async with self.sessions() as session, session.begin():
            if dialect_of(session) == "postgresql":
                query = query.with_for_update(of=d, skip_locked=True)
            rows = (await session.execute(query)).all()
            slots = Counter(self._busy)
            claimed: list[Claimed] = []
            for delivery, endpoint in rows:
                if slots[endpoint.id] >= self.endpoint_concurrency:
                    continue
                slots[endpoint.id] += 1
                delivery.next_attempt_at = now + self.lease
                claimed.append(
                    Claimed(
                        delivery.id,
                        endpoint.id,
                        endpoint.url,
                        valid_secrets(endpoint, now),
                        delivery.event_id,
                        delivery.payload,
                    )
                )
        return claimed

    async def _deliver(self, item: Claimed) -> None:
        try:
            outcome = await self.attempt(item)
            async with self.sessions() as session, session.begin():
                await self.record(session, item.delivery_id, outcome, manual=False)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", item.delivery_id)
        finally:
            self._busy[item.endpoint_id] -= 1
            if self._busy[item.endpoint_id] <= 0:
                del self._busy[item.endpoint_id]
            self.notify()

    async def attempt(self, item: Claimed) -> Outcome:
        timestamp = int(self.clock().timestamp())
        headers = signing.headers(item.secrets, item.event_id, timestamp, item.payload)
        return await self.sender.send(item.url, headers, item.payload)

    async def record(
        self, session: AsyncSession, delivery_id: str, outcome: Outcome, *, manual: bool
    ) -> WebhookDeliveryRow | None:
        """Logs the attempt and schedules what follows; None when the delivery (or its
        endpoint) was deleted meanwhile."""
        now = self.clock()
        delivery = await session.get(WebhookDeliveryRow, delivery_id, with_for_update=True)
        if delivery is None:
            return None
        endpoint = await session.get(WebhookEndpointRow, delivery.endpoint_id, with_for_update=True)
        if endpoint is None:
            return None
        session.add(
            WebhookAttemptRow(
                delivery_id=delivery.id,
                attempted_at=now,
                response_status=outcome.status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                manual=manual,
            )
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        if outcome.ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            endpoint.failing_since = None
            if manual and endpoint.status == EndpointStatus.DISABLED:
                endpoint.status = EndpointStatus.ACTIVE
                endpoint.disabled_reason = None
            endpoint.updated_at = now
        elif await self._failed(session, delivery, endpoint, now) and self.outbox is not None:
            assert endpoint.failing_since is not None and endpoint.disabled_reason is not None
            disabled = WebhookEndpointDisabled(
                endpoint_id=endpoint.id,
                url=endpoint.url,
                failing_since=_aware(endpoint.failing_since),
                reason=endpoint.disabled_reason,
            )
            await self.outbox.add(session, endpoint.tenant_id, disabled)
        await session.flush()
        return delivery

    async def _failed(
        self,
        session: AsyncSession,
        delivery: WebhookDeliveryRow,
        endpoint: WebhookEndpointRow,
        now: datetime,
    ) -> bool:
        """Schedules the next attempt; True when this failure disabled the endpoint (a
        conditional update, so two failures recorded at once disable it once)."""
        following = self.policy.next_attempt(delivery.attempts, now, self.jitter)
        delivery.status = DeliveryStatus.PENDING if following else DeliveryStatus.FAILED
        delivery.next_attempt_at = following
        endpoint.updated_at = now
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            return False
        since = _aware(endpoint.failing_since)
        if endpoint.status != EndpointStatus.ACTIVE or not self.policy.should_disable(since, now):
            return False
        reason = f"every delivery failed since {since.isoformat()}"
        await session.flush()
        disabled = await session.execute(
            update(WebhookEndpointRow)
            .where(
                WebhookEndpointRow.id == endpoint.id,
                WebhookEndpointRow.status == EndpointStatus.ACTIVE,
            )
            .values(status=EndpointStatus.DISABLED, disabled_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
        if not getattr(disabled, "rowcount", 0):
            return False
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        return True

    async def retry_now(
        self, tenant_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDeliveryRow:
        """A manual retry: one attempt at once, outside the schedule, logged as manual. A
        success re-enables an endpoint that was disabled."""
        now = self.clock()
        async with self.sessions() as session:
            endpoint = await service.get_endpoint(session, tenant_id, endpoint_id)
            delivery = await service.get_delivery(session, tenant_id, endpoint_id, delivery_id)
            if delivery.status == DeliveryStatus.SUCCEEDED:
                raise Conflict(
                    "This delivery already succeeded; receivers dedupe by webhook-id, so "
                    "there is nothing to retry."
                )
            item = Claimed(
                delivery.id,
                endpoint.id,
                endpoint.url,
                valid_secrets(endpoint, now),
                delivery.event_id,
                delivery.payload,
            )
        outcome = await self.attempt(item)
        async with self.sessions() as session, session.begin():
            await self.record(session, delivery_id, outcome, manual=True)
        async with self.sessions() as session:
            return await service.get_delivery(session, tenant_id, endpoint_id, delivery_id)


def _aware(moment: datetime) -> datetime:
    """SQLite hands times back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
