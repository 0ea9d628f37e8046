"""Ingest's options: limits of pushed usage and the daily pull from the modules' APIs."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    max_usage_records: int = 10_000
    usage_max_age_days: int = 400
    # Fernet keys, comma-separated, the first encrypts (rotation); in development and tests a
    # fixed development key stands in, production refuses to store connections without it.
    connection_key: str | None = None
    sync_time: str = Field(default="00:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    sync_poll_seconds: float = Field(default=60.0, gt=0)
    sync_max_attempts: int = Field(default=5, ge=1)
    sync_backoff_seconds: float = Field(default=60.0, ge=0)
    sync_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    sync_lease_seconds: float = Field(default=900.0, gt=0)
    sync_catch_up_days: int = Field(default=7, ge=1)
    sync_timeout_seconds: float = Field(default=30.0, gt=0)
    sync_max_pages: int = Field(default=10_000, ge=1)
    sync_concurrency: int = Field(default=8, ge=1)
