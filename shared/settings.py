"""Settings every service reads from the environment (prefix ``ICB_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-internal-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICB_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://icb:icb@127.0.0.1:5433/icb"
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "icb."
    topic_partitions: int = 4
    consumer_batch_size: int = 50
    outbox_batch_size: int = 200
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    internal_secret: str = DEVELOPMENT_SECRET
    ingest_url: str = "http://127.0.0.1:8101"
    mapping_url: str = "http://127.0.0.1:8102"
    invoicing_url: str = "http://127.0.0.1:8103"
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    # The gateway's per-key token bucket: a steady rate and the burst a key may spend at once.
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    max_body_bytes: int = 16 * 1024 * 1024
    max_usage_records: int = 10_000
    usage_max_age_days: int = 400
    # The daily pull (ingest). Fernet keys, comma-separated, the first encrypts (rotation); in
    # development and tests a fixed development key stands in, production refuses to store
    # connections without it.
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
    # Invoices: the seller printed on them until a tenant sets its own profile
    # (PUT /v1/seller-profile), and the days from the invoice date to the due date.
    seller_name: str = Field(default="", max_length=300)
    payment_terms_days: int = Field(default=14, ge=0, le=365)
    # Billing runs bill companies in this many processes (0: one per CPU core, 1: in the
    # service's own process) once a period has at least billing_parallel_companies.
    billing_workers: int = Field(default=0, ge=0, le=64)
    billing_parallel_companies: int = Field(default=1000, ge=1)
    # POST /v1/billing-runs answers with the run when its job finishes within this wait,
    # otherwise 202 and the job's URL.
    billing_run_wait_seconds: float = Field(default=25.0, ge=0)
    # Durable jobs: a worker's lease on a job (extended by a heartbeat every third of it) and
    # how often a job whose worker died is taken over before it fails.
    job_lease_seconds: float = Field(default=30.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.internal_secret == DEVELOPMENT_SECRET:
            raise ValueError("ICB_INTERNAL_SECRET must be set to a real secret in production")
        return self
