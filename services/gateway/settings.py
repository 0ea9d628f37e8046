"""The gateway's options: where the services answer, and what a key may send."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    ingest_url: str = "http://127.0.0.1:8101"
    mapping_url: str = "http://127.0.0.1:8102"
    invoicing_url: str = "http://127.0.0.1:8103"
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    # The per-key token bucket: a steady rate and the burst a key may spend at once.
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # How long a console sign-in lasts before the API key must be given again.
    console_session_seconds: int = Field(default=8 * 3600, ge=60)
    # Failed authentications per source address and per key prefix: a burst, then a rate.
    auth_failure_burst: int = Field(default=20, ge=1)
    auth_failures_per_minute: float = Field(default=30.0, gt=0)
