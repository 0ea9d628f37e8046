"""The wiring: one settings class per service under the ``ICB_`` names of before, overrides
that reach exactly the services that have the option, and typed runtimes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from launcher.embedded import EmbeddedSystem
from services.gateway.settings import GatewaySettings
from services.ingest.settings import IngestSettings
from services.invoicing.settings import InvoicingSettings
from services.mapping.settings import MappingSettings
from shared.runtime import EventRuntime
from shared.settings import ServiceSettings

CLASSES: tuple[type[ServiceSettings], ...] = (
    IngestSettings,
    MappingSettings,
    InvoicingSettings,
    GatewaySettings,
)
# Every option of the one settings class there was before the split (README "Configuration").
OPTIONS_BEFORE = {
    "environment", "database_url", "database_pool_size", "kafka_bootstrap_servers",
    "topic_prefix", "topic_partitions", "consumer_batch_size", "outbox_batch_size",
    "outbox_poll_seconds", "internal_secret", "ingest_url", "mapping_url", "invoicing_url",
    "upstream_timeout_seconds", "rate_limit_per_second", "rate_limit_burst", "max_body_bytes",
    "max_usage_records", "usage_max_age_days", "connection_key", "sync_time",
    "sync_poll_seconds", "sync_max_attempts", "sync_backoff_seconds",
    "sync_backoff_max_seconds", "sync_lease_seconds", "sync_catch_up_days",
    "sync_timeout_seconds", "sync_max_pages", "sync_concurrency", "seller_name",
    "payment_terms_days", "billing_workers", "billing_parallel_companies", "log_level",
}  # fmt: skip
# Options added with the durable jobs (billing runs, re-resolution) and the console.
OPTIONS_ADDED = {
    "billing_run_wait_seconds", "job_lease_seconds", "job_max_attempts",
    "reresolution_wait_seconds", "console_session_seconds",
    # The failed-authentication throttle.
    "auth_failure_burst", "auth_failures_per_minute",
}  # fmt: skip
# Options added with operations (log format, trace export).
OPTIONS_OPERATIONS = {"log_format", "otlp_endpoint", "topic_replication_factor"}
# Options added with webhooks (invoicing).
OPTIONS_WEBHOOKS = {
    "webhook_allow_private", "webhook_timeout_seconds", "webhook_endpoint_concurrency",
    "webhook_secret_overlap_hours", "webhook_poll_seconds",
}  # fmt: skip


def test_every_option_of_before_is_read_by_some_service_and_nothing_else() -> None:
    assert {name for cls in CLASSES for name in cls.model_fields} == (
        OPTIONS_BEFORE | OPTIONS_ADDED | OPTIONS_OPERATIONS | OPTIONS_WEBHOOKS
    )


def test_each_service_has_only_its_own_options() -> None:
    shared = set(ServiceSettings.model_fields)
    own = {cls: set(cls.model_fields) - shared for cls in CLASSES}
    assert own[MappingSettings] == {"reresolution_wait_seconds"}
    assert own[InvoicingSettings] == {
        "mapping_url",
        "seller_name",
        "payment_terms_days",
        "billing_workers",
        "billing_parallel_companies",
        "billing_run_wait_seconds",
        "job_lease_seconds",
        "job_max_attempts",
        *OPTIONS_WEBHOOKS,
    }
    assert {"rate_limit_burst", "ingest_url"} <= own[GatewaySettings]
    assert not any(name.startswith(("sync_", "billing_")) for name in own[GatewaySettings])
    assert {"sync_time", "connection_key", "max_usage_records"} <= own[IngestSettings]


def test_the_variables_keep_their_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICB_RATE_LIMIT_BURST", "7")
    monkeypatch.setenv("ICB_SYNC_TIME", "01:15")
    monkeypatch.setenv("ICB_BILLING_WORKERS", "3")
    monkeypatch.setenv("ICB_MAPPING_URL", "http://mapping.internal")
    monkeypatch.setenv("ICB_OUTBOX_POLL_SECONDS", "0.25")
    assert GatewaySettings().rate_limit_burst == 7
    assert IngestSettings().sync_time == "01:15"
    assert InvoicingSettings().billing_workers == 3
    assert InvoicingSettings().mapping_url == GatewaySettings().mapping_url
    assert {cls().outbox_poll_seconds for cls in CLASSES} == {0.25}


def test_a_misspelt_option_is_refused() -> None:
    with pytest.raises(ValidationError):
        IngestSettings(sync_tme="01:00")  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_production_refuses_the_development_secret(cls: type[ServiceSettings]) -> None:
    with pytest.raises(ValidationError, match="ICB_INTERNAL_SECRET"):
        cls(environment="production")
    assert cls(environment="production", internal_secret="s" * 32).environment == "production"


def test_embedded_overrides_reach_the_services_that_have_the_option(tmp_path: Path) -> None:
    system = EmbeddedSystem(
        tmp_path, environment="test", rate_limit_burst=3, sync_time="01:00", billing_workers=1
    )
    assert system.gateway.settings.rate_limit_burst == 3
    assert system.ingest.settings.sync_time == "01:00"
    assert system.invoicing.settings.billing_workers == 1
    assert {r.settings.environment for r in system.runtimes.values()} == {"test"}
    assert not hasattr(system.mapping.settings, "rate_limit_burst")


def test_embedded_refuses_an_option_no_service_has(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="rate_limit_brust"):
        EmbeddedSystem(tmp_path, rate_limit_brust=3)


def test_only_the_gateway_is_outside_the_event_flow(tmp_path: Path) -> None:
    system = EmbeddedSystem(tmp_path, environment="test")
    assert not isinstance(system.gateway, EventRuntime)
    assert not hasattr(system.gateway, "relay") and not hasattr(system.gateway, "bus")
    assert all(isinstance(r, EventRuntime) for r in system.event_runtimes)
    assert system.ingest.syncer.runtime is system.ingest
    assert system.mapping.resolution_queue.run in system.mapping.loops()
    assert system.ingest.syncer.run in system.ingest.loops()
