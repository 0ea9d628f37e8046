"""Billing runs: compute or refresh a period's drafts and corrections, as a durable job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import ConfigDict

from services.invoicing.api.deps import Caller, Paging, Runtime, Today
from services.invoicing.runs.service import check_period_started
from shared.jobs import Job, JobStatus
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page
from shared.problems import TYPE_BASE, NotFound, Problem
from shared.wire import Period, UtcDateTime

router = APIRouter(prefix="/v1", tags=["invoices"])


class BillingRunIn(ApiModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=examples({"period": "2026-03"}))
    period: Period
    """The calendar month to bill, YYYY-MM."""


class BillingRunOut(ApiModel):
    id: str
    """The run's id (``GET /v1/billing-runs/{id}``)."""
    period: str
    """The month billed, YYYY-MM."""
    invoices: int
    """Invoices of the period: one per company and currency with an active contract."""
    corrections: int
    """Correction documents of the period waiting as drafts (adjustments, credit notes)."""
    created: int
    """Documents this run created."""
    updated: int
    """Documents this run refreshed (0 and 0 when nothing changed)."""
    status: JobStatus = JobStatus.SUCCEEDED
    """Always `succeeded` here: a failed run answers its problem."""


class BillingRunState(ApiModel):
    """A billing run as its job stands: queued, running (with its progress), or finished."""

    id: str
    """The run's id."""
    period: str
    """The month billed, YYYY-MM."""
    status: JobStatus
    """`queued`, `running`, `succeeded` or `failed`."""
    companies_billed: int
    """Companies billed so far."""
    companies_total: int | None
    """Companies with a contract active in the period (known once the run started)."""
    attempts: int
    """Times a worker took the run up (more than 1 after a worker died)."""
    created_at: UtcDateTime
    """When the run was asked for."""
    started_at: UtcDateTime | None
    """When a worker started it; null while queued."""
    finished_at: UtcDateTime | None
    """When it succeeded or failed; null until then."""
    result: BillingRunOut | None
    """When it succeeded: what the run billed."""
    problem: dict[str, Any] | None
    """When it failed: the problem, as the request would have answered it."""


def _state(job: Job) -> BillingRunState:
    succeeded = job.status == JobStatus.SUCCEEDED and job.result is not None
    failed = job.status == JobStatus.FAILED
    return BillingRunState(
        id=job.id,
        period=job.payload["period"],
        status=job.status,
        companies_billed=job.progress_done,
        companies_total=job.progress_total,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=BillingRunOut(**job.result) if succeeded and job.result else None,
        problem=_problem(job).body() if failed else None,
    )


def _problem(job: Job) -> Problem:
    """The problem a failed run raised, as its request would have answered it."""
    body = (job.result or {}).get("problem")
    if body is None:
        return Problem("The billing run failed; it may be started again.")
    problem = Problem(body["detail"], errors=body.get("errors"))
    problem.status = int(body["status"])
    problem.title = str(body["title"])
    problem.slug = str(body["type"]).removeprefix(TYPE_BASE)
    return problem


@router.post(
    "/billing-runs",
    status_code=201,
    response_model=BillingRunOut,
    summary="Bill a period",
    responses={
        202: {
            "model": BillingRunState,
            "description": "Still running after the wait: the run's state; its URL in Location.",
        }
    },
)
async def create_billing_run(
    body: BillingRunIn, ctx: Caller, runtime: Runtime, today: Today
) -> BillingRunOut | JSONResponse:
    """Creates or refreshes the drafts of every company with a contract active in the period,
    and a correction for every posted invoice whose period now computes differently.

    The run is a job: answered with its result when it finishes within the wait
    (``ICB_BILLING_RUN_WAIT_SECONDS``), otherwise 202 with its URL. A run of the same period
    already queued or running is answered instead of starting another. A period whose first
    day lies after today (tenant's zone) is refused (422)."""
    check_period_started(body.period, today)
    runs = runtime.billing_runs
    job = await runs.submit(ctx.tenant_id, body.period)
    job = await runs.wait(job, runtime.settings.billing_run_wait_seconds)
    if job.status == JobStatus.FAILED:
        raise _problem(job)
    if job.status == JobStatus.SUCCEEDED and job.result is not None:
        return BillingRunOut(**job.result)
    return JSONResponse(
        _state(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/billing-runs/{job.id}"},
    )


@router.get("/billing-runs", response_model=Page[BillingRunState], summary="List billing runs")
async def list_billing_runs(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    period: Annotated[Period | None, Query()] = None,
) -> Page[BillingRunState]:
    """The tenant's billing runs, newest first, each with its status and, once done, its
    result or its problem; ``period`` narrows to the runs of one month."""
    page = await runtime.billing_runs.runs(ctx.tenant_id, paging, period)
    return Page(items=[_state(j) for j in page.items], next_cursor=page.next_cursor)


@router.get("/billing-runs/{run_id}", response_model=BillingRunState, summary="Show a billing run")
async def get_billing_run(run_id: str, ctx: Caller, runtime: Runtime) -> BillingRunState:
    """A billing run's status, its progress (companies billed of the total) and, once done,
    its result or its problem."""
    job = await runtime.billing_runs.find(ctx.tenant_id, run_id)
    if job is None:
        raise NotFound(f"billing run {run_id} not found")
    return _state(job)
