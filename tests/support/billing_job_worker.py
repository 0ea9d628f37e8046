"""A replica that dies mid-run: claims the oldest billing-run job with the service's own worker
and stops halfway through the run, holding its lease (heartbeat running) and its open
transaction, until it is killed.

``python -m tests.support.billing_job_worker DATABASE_URL LEASE_SECONDS``: prints ``billing
<owner>`` once it has billed (and written, uncommitted) the first batches of companies.
"""

from __future__ import annotations

import asyncio
import sys

from services.invoicing import app as invoicing_app
from services.invoicing.models import SCHEMA
from services.invoicing.runs import service as run_service
from services.invoicing.runs.writes import DocumentWriter
from services.invoicing.settings import InvoicingSettings
from shared.bus import InProcessBus
from shared.db import create_engine

BATCH_COMPANIES = 3


async def main(url: str, lease_seconds: float) -> None:
    settings = InvoicingSettings(
        environment="test", database_url=url, job_lease_seconds=lease_seconds
    )
    engine = create_engine(url, SCHEMA)
    runs = invoicing_app.build_runtime(settings, engine, InProcessBus()).billing_runs
    batches = 0

    async def flush_then_hang(writer: DocumentWriter) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            await writer.flush()
            print("billing", runs.worker.leases.owner, flush=True)
            await asyncio.Event().wait()

    run_service.BATCH_COMPANIES = BATCH_COMPANIES
    DocumentWriter.flush_if_full = flush_then_hang  # type: ignore[method-assign]
    assert await runs.worker.drain_once() == 1, "no job to claim"


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
