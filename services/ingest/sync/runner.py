"""The daily pull: a scheduler loop on the ingest runtime, attempts with backoff, "sync now".

Every attempt fetches the whole day first and stores it in one transaction with the sync's
outcome, through the same intake as pushed usage. A failed attempt stores nothing, so the day
stays missing (invoicing estimates it) until a later attempt or sync delivers it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.ingest.models import ModuleSyncRow
from services.ingest.settings import IngestSettings
from services.ingest.sync import attempts, repository
from services.ingest.sync.attempts import Job
from services.ingest.sync.connectors import CONNECTORS, ConnectorError, ConnectorRegistry, Pull
from services.ingest.sync.credentials import CredentialCipher, CredentialsUnreadable
from services.ingest.sync.schedule import (
    backoff,
    days_to_schedule,
    due_day,
    local_today,
    parse_local_time,
    zone,
)
from services.ingest.sync.status import SyncTrigger
from shared.clock import Clock, utc_now
from shared.runtime import EventRuntime

log = logging.getLogger(__name__)


DUE_BATCH = 1000


class NoConnection(LookupError):
    pass


class Syncer:
    """Pulls connected modules. ``clock`` and ``transport`` are injectable for tests."""

    def __init__(
        self,
        runtime: EventRuntime,
        settings: IngestSettings,
        cipher: CredentialCipher | None,
        connectors: ConnectorRegistry = CONNECTORS,
        clock: Clock = utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.cipher = cipher
        self.connectors = connectors
        self.clock = clock
        self.transport = transport
        self.default_time = parse_local_time(settings.sync_time)
        self.lease = timedelta(seconds=settings.sync_lease_seconds)

    def client(self, timeout: float) -> httpx.AsyncClient:
        """An HTTP client to the modules' APIs (through the injected transport, if any)."""
        return httpx.AsyncClient(transport=self.transport, timeout=timeout)

    async def run(self) -> None:
        """The background loop: a tick now and every ``sync_poll_seconds``."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("sync scheduler tick failed; trying again at the next one")
            await asyncio.sleep(self.settings.sync_poll_seconds)

    async def tick(self) -> int:
        """Creates the syncs that became due and runs every due attempt; answers how many
        attempts ran."""
        now = self.clock()
        await self.schedule(now)
        return await self.run_due(now)

    async def schedule(self, now: datetime) -> int:
        runtime = self.runtime
        async with runtime.sessions() as session:
            connections = await repository.enabled_connections(session)
        created = 0
        for conn in connections:
            at = parse_local_time(conn.sync_time) if conn.sync_time else self.default_time
            due = due_day(now, zone(conn.timezone), at)
            if conn.scheduled_through is not None and conn.scheduled_through >= due:
                continue
            days = days_to_schedule(due, conn.scheduled_through, self.settings.sync_catch_up_days)
            async with runtime.transaction() as session:
                if not await repository.claim_schedule(session, conn.tenant_id, conn.module, due):
                    continue
                for day in days:
                    await repository.add_sync(
                        session, conn.tenant_id, conn.module, day, SyncTrigger.SCHEDULED, now
                    )
            created += len(days)
        return created

    async def run_due(self, now: datetime) -> int:
        runtime = self.runtime
        async with runtime.sessions() as session:
            due = await repository.due_syncs(session, now, DUE_BATCH)
        gate = asyncio.Semaphore(self.settings.sync_concurrency)

        async def one(row: ModuleSyncRow) -> bool:
            async with gate:
                async with runtime.transaction() as session:
                    if not await repository.claim_attempt(session, row, now, self.lease):
                        return False
                await self.attempt(Job.of(row, row.attempts + 1))
                return True

        return sum(await asyncio.gather(*(one(row) for row in due)))

    async def sync_now(self, tenant_id: str, module: str, day: date) -> ModuleSyncRow:
        """One attempt right away; when it fails for a passing reason, the scheduler retries."""
        now = self.clock()
        async with self.runtime.transaction() as session:
            if await repository.get_connection(session, tenant_id, module) is None:
                raise NoConnection(module)
            row = await repository.add_sync(
                session,
                tenant_id,
                module,
                day,
                SyncTrigger.MANUAL,
                now,
                running_until=now + self.lease,
            )
        return await self.attempt(Job.of(row, 1))

    async def attempt(self, job: Job) -> ModuleSyncRow:
        async with self.runtime.sessions() as session:
            conn = await repository.get_connection(session, job.tenant_id, job.module)
        if conn is None:
            return await self._failed(job, "the module has no connection any more", False)
        if self.cipher is None:
            return await self._failed(job, "ICB_CONNECTION_KEY is not configured", False)
        settings = self.settings
        try:
            pull = Pull(
                job.module,
                job.day,
                conn.base_url,
                self.cipher.open(conn.credentials),
                settings.sync_max_pages,
            )
            async with self.client(settings.sync_timeout_seconds) as client:
                raw = await self.connectors.for_module(job.module).fetch(client, pull)
        except ConnectorError as exc:
            return await self._failed(job, str(exc), exc.retryable)
        except CredentialsUnreadable as exc:
            return await self._failed(job, str(exc), False)
        except Exception as exc:
            log.exception("connector of %s failed", job.module)
            return await self._failed(job, f"the connector failed: {exc!r}", True)
        try:
            return await self._store(job, raw, zone(conn.timezone))
        except Exception as exc:
            log.exception("storing the sync of %s %s failed", job.module, job.day)
            return await self._failed(job, f"storing the records failed: {exc!r}", True)

    async def _store(self, job: Job, raw: list[Any], tz: ZoneInfo) -> ModuleSyncRow:
        runtime = self.runtime
        now = self.clock()
        async with runtime.transaction() as session:
            return await attempts.deliver(
                session,
                runtime.outbox,
                job,
                raw,
                local_today(now, tz),
                self.settings.usage_max_age_days,
                now,
            )

    async def _failed(self, job: Job, error: str, retryable: bool) -> ModuleSyncRow:
        settings = self.settings
        now = self.clock()
        retry_at = None
        if retryable and job.attempt < settings.sync_max_attempts:
            retry_at = now + backoff(
                job.attempt, settings.sync_backoff_seconds, settings.sync_backoff_max_seconds
            )
        log.warning(
            "sync of %s %s, attempt %d, failed: %s", job.module, job.day, job.attempt, error
        )
        async with self.runtime.transaction() as session:
            return await attempts.fail(session, self.runtime.outbox, job, error, retry_at, now)
