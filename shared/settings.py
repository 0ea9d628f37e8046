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
    consumer_batch_size: int = 500
    outbox_batch_size: int = 1000
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    internal_secret: str = DEVELOPMENT_SECRET
    ingest_url: str = "http://127.0.0.1:8101"
    mapping_url: str = "http://127.0.0.1:8102"
    invoicing_url: str = "http://127.0.0.1:8103"
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = 16 * 1024 * 1024
    max_usage_records: int = 10_000
    usage_max_age_days: int = 400
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.internal_secret == DEVELOPMENT_SECRET:
            raise ValueError("ICB_INTERNAL_SECRET must be set to a real secret in production")
        return self


def get_settings() -> Settings:
    return Settings()
