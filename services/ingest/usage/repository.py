"""Storage of usage records; queries only, the caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import Table, case
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import UsageRecordRow
from services.ingest.usage.validation import RecordKey, ValidRecord
from shared.db import chunks, dialect_of, insert_rows, rows_by_keys
from shared.events import UsageRecord

_records = cast(Table, UsageRecordRow.__table__)  # the Core table, for bulk statements
KEY_CHUNK = 2000
_KEY = ["tenant_id", "module", "org_id", "metric", "day"]
"""The primary key's columns: what an insert conflicts on."""
_RECORDS = TypeAdapter(list[UsageRecord])


@dataclass
class StoreResult:
    accepted: int = 0
    corrected: int = 0
    unchanged: int = 0
    changed: list[UsageRecord] = field(default_factory=list)


async def _existing(
    session: AsyncSession, tenant_id: str, keys: Sequence[RecordKey]
) -> dict[RecordKey, tuple[object, int, str]]:
    c = _records.c
    found: dict[RecordKey, tuple[object, int, str]] = {}
    dialect = dialect_of(session)
    for part in chunks(keys, KEY_CHUNK):
        query = rows_by_keys(
            dialect,
            [c.module, c.org_id, c.metric, c.day],
            part,
            [c.module, c.org_id, c.metric, c.day, c.quantity, c.revision, c.org_name],
            c.tenant_id == tenant_id,
            for_update=True,
        )
        for row in await session.execute(query):
            found[(row.module, row.org_id, row.metric, row.day)] = (
                row.quantity,
                row.revision,
                row.org_name,
            )
    return found


def _row(tenant_id: str, r: ValidRecord, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "module": r.module,
        "org_id": r.org_id,
        "metric": r.metric,
        "day": r.day,
        "org_name": r.org_name,
        "quantity": r.quantity,
        "revision": 1,
        "received_at": now,
    }


async def store_usage(
    session: AsyncSession, tenant_id: str, records: Sequence[ValidRecord], now: datetime
) -> StoreResult:
    """Inserts new records, applies corrections (latest wins) and renames.

    New keys are inserted first without looking for them (``DO NOTHING``: most records of a
    day are new); only the records whose key already existed are then read, locked and
    compared. The revision is counted up by the database itself, so two writers racing on a
    new key still give the later quantity the higher revision; the events carry what it
    returned.
    """
    result = StoreResult()
    by_key = {r.key: r for r in records}
    c = _records.c
    returning = [c.module, c.org_id, c.metric, c.day, c.revision]
    inserted = await insert_rows(
        session,
        _records,
        [_row(tenant_id, r, now) for r in records],
        lambda stmt: stmt.on_conflict_do_nothing(index_elements=_KEY),
        chunk=KEY_CHUNK,
        returning=returning,
    )
    result.accepted = len(inserted)
    new_keys = {(module, org_id, metric, day) for module, org_id, metric, day, _ in inserted}
    known = [r for r in records if r.key not in new_keys]
    existing = await _existing(session, tenant_id, [r.key for r in known])
    updated: list[ValidRecord] = []
    for r in known:
        before = existing.get(r.key)
        if before is None:  # no row any more (deleted since the insert met it): new again
            result.accepted += 1
        elif before[0] != r.quantity:
            result.corrected += 1
        else:
            result.unchanged += 1
            if before[2] == r.org_name:
                continue
        updated.append(r)

    def replacing(stmt: Any) -> Any:
        return stmt.on_conflict_do_update(
            index_elements=_KEY,
            set_={
                "quantity": stmt.excluded.quantity,
                "org_name": stmt.excluded.org_name,
                "revision": case(
                    (c.quantity != stmt.excluded.quantity, c.revision + 1), else_=c.revision
                ),
                "received_at": stmt.excluded.received_at,
            },
        )

    written = inserted + await insert_rows(
        session,
        _records,
        [_row(tenant_id, r, now) for r in updated],
        replacing,
        chunk=KEY_CHUNK,
        returning=returning,
    )
    stored = []
    for module, org_id, metric, day, revision in written:
        r = by_key[(module, org_id, metric, day)]
        stored.append(
            {
                "module": module,
                "org_id": org_id,
                "org_name": r.org_name,
                "metric": metric,
                "date": day,
                "quantity": r.quantity,
                "revision": revision,
            }
        )
    result.changed = _RECORDS.validate_python(stored)  # one call: several times faster
    return result
