"""Invoicing's options: where mapping answers, the default seller, billing-run parallelism."""

from __future__ import annotations

from pydantic import Field

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
