"""Invoicing's options: where mapping answers, the default seller, billing-run parallelism."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from shared.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    # Read through when a contract names a company whose ``company.changed`` has not arrived.
    mapping_url: str = "http://127.0.0.1:8102"
    # The seller printed on invoices until a tenant sets its own profile
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
    # Webhooks: private, loopback and link-local targets are refused unless this is true
    # (local tests only; refused in production). Each request may take webhook_timeout_seconds;
    # one endpoint has at most webhook_endpoint_concurrency requests in flight. A rotated
    # secret keeps signing beside the new one for webhook_secret_overlap_hours.
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _no_private_webhooks_in_production(self) -> Self:
        if self.environment == "production" and self.webhook_allow_private:
            raise ValueError("ICB_WEBHOOK_ALLOW_PRIVATE must not be true in production")
        return self
