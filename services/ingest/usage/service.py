"""Usage's use case: the one way usage enters the system, pushed or pulled. Validate record by
record, store (latest wins), and write ``usage.recorded`` to the outbox in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.usage import repository
from services.ingest.usage.validation import Rejection, validate_batch
from shared.events import UsageRecorded, usage_chunks
from shared.outbox import Outbox

EVENT_RECORDS = 1000


@dataclass(frozen=True)
class IntakeResult:
    accepted: int
    unchanged: int
    corrected: int
    rejected: tuple[Rejection, ...]

    @property
    def received(self) -> int:
        return self.accepted + self.unchanged + self.corrected + len(self.rejected)


async def take_in(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    raw_records: Sequence[Any],
    today: date,
    max_age_days: int,
    now: datetime,
) -> IntakeResult:
    """Stores every valid record and rejects the others one by one; the caller commits, and
    only then is anything acknowledged."""
    valid, rejected, repeats = validate_batch(raw_records, today, max_age_days)
    stored = await repository.store_usage(session, tenant_id, valid, now)
    changed = stored.changed
    await outbox.add(
        session,
        tenant_id,
        *(UsageRecorded(records=chunk) for chunk in usage_chunks(changed, EVENT_RECORDS)),
    )
    return IntakeResult(
        accepted=stored.accepted,
        unchanged=stored.unchanged + repeats,
        corrected=stored.corrected,
        rejected=tuple(rejected),
    )
