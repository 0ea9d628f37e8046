"""The words of a sync: what started it and where it stands.

``pending`` -> ``running`` -> ``succeeded`` | ``retrying`` | ``failed``; ``retrying`` goes back
to ``running`` at its next attempt; a ``pending`` or ``retrying`` sync becomes ``superseded``
when another sync of the same day succeeded first.
"""

from __future__ import annotations

from enum import StrEnum


class SyncTrigger(StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"


class SyncStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"


OPEN = frozenset({SyncStatus.PENDING, SyncStatus.RETRYING, SyncStatus.RUNNING})
"""Statuses with attempts still to come (or one under way)."""
WAITING = frozenset({SyncStatus.PENDING, SyncStatus.RETRYING})
"""Open statuses no worker holds: a success of the same day supersedes them."""
