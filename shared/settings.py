"""The settings every service reads from the environment (prefix ``ICB_``).

Each service has its own class on this base (``services/<name>/settings.py``) with only the
options it uses; a variable keeps its ``ICB_`` name whichever service reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-internal-secret"


class ServiceSettings(BaseSettings):
    # Unknown keyword arguments are refused: a misspelt option must not pass unnoticed.
    model_config = SettingsConfigDict(env_prefix="ICB_", extra="forbid")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://icb:icb@127.0.0.1:5433/icb"
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "icb."
    topic_partitions: int = 4
    # Production clusters: 3, with min.insync.replicas=2 on the brokers (deploy/k8s/README.md).
    topic_replication_factor: int = 1
    consumer_batch_size: int = 50
    outbox_batch_size: int = 200
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    internal_secret: str = DEVELOPMENT_SECRET
    # Every service that takes request bodies (gateway, ingest, mapping's import) bounds them.
    max_body_bytes: int = 16 * 1024 * 1024
    log_level: str = "INFO"
    # "auto": readable text on a terminal, JSON lines otherwise (for the log collector).
    log_format: Literal["auto", "json", "text"] = "auto"
    # Spans are exported by OTLP/HTTP only when this (or OTEL_EXPORTER_OTLP_ENDPOINT) is set.
    otlp_endpoint: str | None = None

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Self:
        if self.environment == "production" and self.internal_secret == DEVELOPMENT_SECRET:
            raise ValueError("ICB_INTERNAL_SECRET must be set to a real secret in production")
        return self

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, Any]) -> Self:
        """The settings from the environment, with those of ``overrides`` this class knows."""
        return cls(**{k: v for k, v in overrides.items() if k in cls.model_fields})


def unknown_options(
    classes: tuple[type[ServiceSettings], ...], overrides: Mapping[str, Any]
) -> list[str]:
    """The overrides that none of ``classes`` knows (misspelt or misplaced)."""
    known = {name for cls in classes for name in cls.model_fields}
    return sorted(set(overrides) - known)
