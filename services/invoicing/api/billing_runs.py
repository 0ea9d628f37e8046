"""Billing runs: compute or refresh a period's drafts and corrections."""

from __future__ import annotations

import re

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, field_validator

from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.billing import parse_period
from services.invoicing.runs.compute import worker_count
from services.invoicing.runs.service import run_billing

router = APIRouter(prefix="/v1", tags=["invoices"])
PERIOD = re.compile(r"^\d{4}-\d{2}$")


class BillingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if not PERIOD.match(value):
            raise ValueError("must be a month as YYYY-MM")
        parse_period(value)
        return value


class BillingRunOut(BaseModel):
    id: str
    period: str
    invoices: int
    """Invoices of the period: one per company and currency with an active contract."""
    corrections: int
    """Correction documents of the period waiting as drafts (adjustments, credit notes)."""
    created: int
    updated: int
    """Documents this run created or refreshed (0 and 0 when nothing changed)."""


@router.post("/billing-runs", status_code=201, response_model=BillingRunOut)
async def create_billing_run(body: BillingRunIn, ctx: Caller, runtime: Runtime) -> BillingRunOut:
    """Creates or refreshes the drafts of every company with a contract active in the period,
    and a correction for every posted invoice whose period now computes differently."""
    settings = runtime.settings
    async with runtime.transaction() as session:
        result = await run_billing(
            session,
            ctx.tenant_id,
            body.period,
            workers=worker_count(settings.billing_workers),
            parallel_from=settings.billing_parallel_companies,
        )
    return BillingRunOut(**result.__dict__)
