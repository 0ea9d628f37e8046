"""When to pull which day, and how long to wait after a failed attempt. Pure functions.

A connection pulls the previous local day once a day, at its local sync time. Days that were
due while nothing ran (an outage) are caught up, a bounded number of days back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_local_time(text: str) -> time:
    """``HH:MM`` (24 hours) as a time; ValueError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"{text!r} is not a time as HH:MM")
    return time(int(hours), int(minutes))


def zone(name: str) -> ZoneInfo:
    """The tenant's zone; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def due_day(now: datetime, tz: ZoneInfo, at: time) -> date:
    """The latest day whose pull is due at ``now``: yesterday once the local clock passed
    ``at``, the day before yesterday until then."""
    local = now.astimezone(tz)
    yesterday = local.date() - timedelta(days=1)
    return yesterday if local.time() >= at else yesterday - timedelta(days=1)


def days_to_schedule(due: date, scheduled_through: date | None, catch_up: int) -> list[date]:
    """The days to create scheduled syncs for, oldest first: every day after
    ``scheduled_through`` up to ``due``, at most ``catch_up`` of them (a new connection: ``due``
    alone)."""
    if scheduled_through is None:
        return [due]
    first = max(scheduled_through + timedelta(days=1), due - timedelta(days=catch_up - 1))
    return [first + timedelta(days=i) for i in range((due - first).days + 1)]


def backoff(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling from ``base``, capped."""
    seconds = min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds)


def as_utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back; everything this service stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
