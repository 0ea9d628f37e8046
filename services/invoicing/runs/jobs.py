"""Billing runs as durable jobs: queued by a request, worked by the service's job worker.

A request queues the run (or finds the tenant's run of that period already queued or running)
in a short transaction of its own and waits a bounded time for it; the run itself happens in
the worker, in a transaction of its own that also records the job's result, with its CPU work
in the service's process pool (:mod:`shared.workers`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.runs.models import jobs
from services.invoicing.runs.service import run_billing
from services.invoicing.settings import InvoicingSettings
from shared.jobs import Job, JobWorker, Progress, enqueue, find, newest
from shared.pagination import Page, PageParams
from shared.runtime import EventRuntime
from shared.workers import WorkerPool, worker_count

KIND = "billing_run"


class BillingRuns:
    """The billing-run jobs of one invoicing runtime: its worker loop and its process pool."""

    def __init__(self, runtime: EventRuntime, settings: InvoicingSettings) -> None:
        self._runtime = runtime
        self.pool = WorkerPool(worker_count(settings.billing_workers))
        self._parallel_from = settings.billing_parallel_companies
        self.worker = JobWorker(
            runtime.sessions,
            jobs,
            {KIND: self._bill},
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.job_max_attempts,
            poll_seconds=settings.outbox_poll_seconds,
            after_commit=runtime.relay.notify,
        )

    async def _bill(self, session: AsyncSession, job: Job, progress: Progress) -> dict[str, Any]:
        result = await run_billing(
            session,
            job.tenant_id,
            job.payload["period"],
            pool=self.pool,
            parallel_from=self._parallel_from,
            run_id=job.id,
            progress=progress,
        )
        return asdict(result)

    async def submit(self, tenant_id: str, period: str) -> Job:
        """Queues the tenant's run of ``period`` (or finds the one queued or running) and
        wakes the worker."""
        async with self._runtime.transaction() as session:
            job, _new = await enqueue(
                session,
                jobs,
                tenant_id=tenant_id,
                kind=KIND,
                subject=period,
                payload={"period": period},
            )
        self.worker.notify()
        return job

    async def wait(self, job: Job, seconds: float) -> Job:
        return await self.worker.wait(job.id, seconds) or job

    async def find(self, tenant_id: str, job_id: str) -> Job | None:
        async with self._runtime.sessions() as session:
            job = await find(session, jobs, job_id, tenant_id)
        return job if job is not None and job.kind == KIND else None

    async def runs(self, tenant_id: str, paging: PageParams, period: str | None) -> Page[Job]:
        """The tenant's runs, newest first; of one ``period`` if given."""
        async with self._runtime.sessions() as session:
            return await newest(
                session, jobs, paging, tenant_id=tenant_id, kind=KIND, subject=period
            )
