"""When a failed delivery is tried again: exponential back-off with full jitter, for at least
24 hours, and when an endpoint that keeps failing is disabled.

Attempt n (1-based) that failed waits ``min(cap, base * 2^(n-1))`` scaled by a random factor
in [0.5, 1.0] ("equal jitter": never a burst of immediate retries, never longer than the
nominal wait). With the defaults a delivery is given up after 32 attempts: 30 s, 1 min,
2 min ... capped at 2 h, at least 24 hours and at most about 46 hours after the first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

Jitter = Callable[[], float]
"""A number in [0, 1); ``random.random`` in production, fixed in tests."""


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    cap_seconds: float = 2 * 3600.0
    max_attempts: int = 32
    disable_after: timedelta = timedelta(days=5)
    """An endpoint whose every delivery failed for this long is disabled."""

    def nominal_wait(self, attempts: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1)))

    def next_attempt(
        self, attempts: int, now: datetime, jitter: Jitter = random.random
    ) -> datetime | None:
        """When to try after ``attempts`` failed ones; None when the delivery is given up."""
        if attempts >= self.max_attempts:
            return None
        wait = self.nominal_wait(attempts) * (0.5 + 0.5 * jitter())
        return now + timedelta(seconds=wait)

    def minimum_span(self) -> timedelta:
        """The shortest time from the first attempt to giving up (every jitter at 0)."""
        return timedelta(
            seconds=sum(0.5 * self.nominal_wait(n) for n in range(1, self.max_attempts))
        )

    def should_disable(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= self.disable_after
