"""The retry schedule: exponential back-off with jitter, at least 24 hours before a delivery
is given up, and disabling an endpoint after days of failure (a fake clock throughout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.invoicing.webhooks.schedule import RetryPolicy

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _waits(policy: RetryPolicy, jitter: float) -> list[float]:
    now, waits, attempts = START, [], 0
    while True:
        attempts += 1
        following = policy.next_attempt(attempts, now, lambda: jitter)
        if following is None:
            return waits
        waits.append((following - now).total_seconds())
        now = following


def test_waits_double_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=30, cap_seconds=7200, max_attempts=32)
    waits = _waits(policy, jitter=0.999999)
    assert [round(w) for w in waits[:6]] == [30, 60, 120, 240, 480, 960]
    assert max(waits) <= 7200
    assert round(waits[-1]) == 7200
    assert len(waits) == policy.max_attempts - 1


def test_jitter_scales_each_wait_between_half_and_all_of_it() -> None:
    policy = RetryPolicy()
    low, high = _waits(policy, 0.0), _waits(policy, 0.999999)
    for attempt, (lo, hi) in enumerate(zip(low, high, strict=True), start=1):
        nominal = policy.nominal_wait(attempt)
        assert lo == nominal / 2
        assert nominal / 2 < hi <= nominal
    spread = {
        policy.next_attempt(3, START, lambda j=j: j)  # type: ignore[misc]
        for j in (0.1, 0.5, 0.9)
    }
    assert len(spread) == 3


def test_retries_last_at_least_a_day_even_with_the_least_jitter() -> None:
    policy = RetryPolicy()
    assert sum(_waits(policy, 0.0)) >= 24 * 3600
    assert policy.minimum_span() >= timedelta(hours=24)


def test_an_endpoint_is_disabled_after_days_of_failure() -> None:
    policy = RetryPolicy(disable_after=timedelta(days=5))
    assert not policy.should_disable(None, START)
    assert not policy.should_disable(START, START + timedelta(days=4, hours=23))
    assert policy.should_disable(START, START + timedelta(days=5))
