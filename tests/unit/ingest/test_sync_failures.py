"""Which modules a ``sync_failed`` insight names: the last ended sync of a day decides."""

from __future__ import annotations

from datetime import date

from services.ingest.sync.failures import EndedSync, failed_modules
from services.ingest.sync.status import SyncStatus

D1, D2 = date(2026, 10, 1), date(2026, 10, 2)


def _sync(module: str, day: date, status: SyncStatus, error: str | None = None) -> EndedSync:
    return EndedSync(module, day, status, error, 1, None)


def test_the_last_ended_sync_of_a_day_decides() -> None:
    found = failed_modules(
        [
            _sync("a", D1, SyncStatus.FAILED, "HTTP 401"),
            _sync("a", D1, SyncStatus.SUCCEEDED),  # a later sync of that day succeeded
            _sync("b", D1, SyncStatus.SUCCEEDED),
            _sync("b", D1, SyncStatus.FAILED, "HTTP 500"),  # a later one failed again
            _sync("b", D2, SyncStatus.FAILED, "timeout"),
            _sync("c", D2, SyncStatus.SUCCEEDED),
        ]
    )
    assert [(f.module, [(s.day, s.error) for s in f.days]) for f in found] == [
        ("b", [(D2, "timeout"), (D1, "HTTP 500")])
    ]


def test_no_syncs_no_failures() -> None:
    assert failed_modules([]) == []
