"""When the daily pull runs and how it backs off: pure functions, no clock, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.ingest.sync.schedule import (
    as_utc,
    backoff,
    days_to_schedule,
    due_day,
    parse_local_time,
    zone,
)

AT = time(0, 30)


def test_parse_local_time() -> None:
    assert parse_local_time("00:30") == time(0, 30)
    assert parse_local_time("23:59") == time(23, 59)
    for bad in ("0:30", "24:00", "12:60", "12-30", "ab:cd", ""):
        with pytest.raises(ValueError):
            parse_local_time(bad)


def test_yesterday_is_due_after_the_sync_time_only() -> None:
    utc = ZoneInfo("UTC")
    assert due_day(datetime(2026, 3, 10, 0, 29, tzinfo=UTC), utc, AT) == date(2026, 3, 8)
    assert due_day(datetime(2026, 3, 10, 0, 30, tzinfo=UTC), utc, AT) == date(2026, 3, 9)
    assert due_day(datetime(2026, 3, 10, 23, 59, tzinfo=UTC), utc, AT) == date(2026, 3, 9)


def test_the_tenants_time_zone_decides_the_day() -> None:
    # 2026-03-10 11:45 UTC is 00:45 on 2026-03-11 in Auckland (UTC+13): the 10th is due there.
    now = datetime(2026, 3, 10, 11, 45, tzinfo=UTC)
    assert due_day(now, ZoneInfo("Pacific/Auckland"), AT) == date(2026, 3, 10)
    # ... and 07:45 the day before in New York: the 9th.
    assert due_day(now, ZoneInfo("America/New_York"), AT) == date(2026, 3, 9)


def test_a_day_of_daylight_saving_change_still_pulls_once() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # clocks jump 02:00 -> 03:00 on 2026-03-29
    at = time(2, 30)  # does not exist that night: due from 03:00 local on
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # 01:59 local
    after = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 local
    assert due_day(before, berlin, at) == date(2026, 3, 27)
    assert due_day(after, berlin, at) == date(2026, 3, 28)


def test_unknown_zone_falls_back_to_utc() -> None:
    assert zone("Mars/Olympus_Mons") == ZoneInfo("UTC")
    assert zone("Europe/Zurich") == ZoneInfo("Europe/Zurich")


def test_days_to_schedule() -> None:
    due = date(2026, 3, 10)
    assert days_to_schedule(due, None, 7) == [due]
    assert days_to_schedule(due, date(2026, 3, 9), 7) == [due]
    assert days_to_schedule(due, date(2026, 3, 10), 7) == []
    # After an outage the missed days are caught up, oldest first, at most catch_up of them.
    assert days_to_schedule(due, date(2026, 3, 7), 7) == [date(2026, 3, d) for d in (8, 9, 10)]
    assert days_to_schedule(due, date(2026, 2, 1), 3) == [date(2026, 3, d) for d in (8, 9, 10)]


def test_backoff_doubles_and_is_capped() -> None:
    waits = [backoff(n, 60, 600) for n in range(1, 7)]
    assert waits == [timedelta(seconds=s) for s in (60, 120, 240, 480, 600, 600)]
    assert backoff(1, 0, 600) == timedelta(0)


def test_as_utc() -> None:
    naive = datetime(2026, 3, 10, 12, 0)
    assert as_utc(naive) == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    zurich = datetime(2026, 3, 10, 13, 0, tzinfo=ZoneInfo("Europe/Zurich"))
    assert as_utc(zurich) == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
