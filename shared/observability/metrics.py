"""The Prometheus metrics of every service (PRODUCT.md section 15), in the process registry:
in the embedded mode the four services share one process and so one ``/metrics``.

Gauges that need the database (the outbox) are sampled when scraped, by the refreshers the
running services register, rather than by a loop nobody reads.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "icb_http_requests",
    "HTTP requests answered, by service, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "icb_http_request_duration_seconds",
    "Time to answer an HTTP request, by service and route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "icb_consumer_lag",
    "Messages of a partition not yet processed by a consumer group.",
    ["group", "topic", "partition"],
)
EVENTS_CONSUMED = Counter(
    "icb_events_consumed", "Events handed to a consumer group's handler.", ["group", "topic"]
)
INBOX_DUPLICATES = Counter(
    "icb_inbox_duplicates_skipped",
    "Redelivered events the inbox recognised and skipped.",
    ["group"],
)
DEAD_LETTERS = Counter(
    "icb_dead_letters",
    "Messages sent to the dead-letter topic because no attempt could process them.",
    ["group", "topic"],
)
OUTBOX_BACKLOG = Gauge(
    "icb_outbox_backlog", "Outbox rows committed but not yet relayed to the bus.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "icb_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet relayed (0 when empty).",
    ["service"],
)
OUTBOX_RELAYED = Counter(
    "icb_outbox_relayed", "Outbox rows published to the bus.", ["service", "topic"]
)
SYNC_OUTCOMES = Counter(
    "icb_sync_outcomes",
    "Daily module syncs that ended, by module, trigger and outcome.",
    ["module", "trigger", "outcome"],
)
JOB_DURATION = Histogram(
    "icb_job_duration_seconds",
    "Time a durable job's attempt took, by kind (billing_run: a billing run) and outcome.",
    ["kind", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
WEBHOOK_DELIVERIES = Counter(
    "icb_webhook_deliveries",
    "Webhook delivery attempts, by event type and outcome (for the webhook sender to count).",
    ["event_type", "outcome"],
)

Refresher = Callable[[], Awaitable[None]]
_refreshers: dict[int, Refresher] = {}


def on_scrape(refresher: Refresher) -> Callable[[], None]:
    """Runs ``refresher`` before every scrape until the returned function is called."""
    key = id(refresher)
    _refreshers[key] = refresher

    def remove() -> None:
        _refreshers.pop(key, None)

    return remove


async def exposition() -> tuple[bytes, str]:
    """The Prometheus text of every metric of this process, and its content type."""
    for refresher in list(_refreshers.values()):
        try:
            await refresher()
        except Exception:  # a database that does not answer must not hide the other metrics
            log.warning("a metrics refresher failed", exc_info=True)
    return generate_latest(), CONTENT_TYPE_LATEST
