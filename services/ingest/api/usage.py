"""``POST /v1/usage``: pushed usage, validated record by record, durable before the answer."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ConfigDict

from services.ingest.api.deps import Caller, Runtime, tenant_today
from services.ingest.runtime import IngestRuntime
from services.ingest.usage.service import take_in
from shared.clock import utc_now
from shared.csv_table import CsvError, TooManyRows, is_csv, read_table
from shared.openapi_docs import ApiModel, examples
from shared.problems import PayloadTooLarge, ValidationFailed, invalid

router = APIRouter(prefix="/v1", tags=["usage"])
CSV_COLUMNS = ("module", "org_id", "org_name", "metric", "date", "quantity")


class UsageRecordIn(ApiModel):
    module: str
    """The catalog id of the module that counted."""
    org_id: str
    """The module's id of the organisation (its customer account in the module)."""
    org_name: str
    """The organisation's name in the module; it helps suggest the company."""
    metric: str
    """The catalog id of the metric counted."""
    date: date
    """The day counted, in the tenant's time zone; not in the future, not older than the
    accepted age."""
    quantity: Decimal
    """The units of the day, a decimal string (whole units unless the metric is
    fractional); a record sent again for the same day replaces the earlier one."""


class UsageBatchIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "records": [
                    {
                        "module": "datto_rmm",
                        "org_id": "org-4711",
                        "org_name": "Contoso Ltd.",
                        "metric": "total_devices",
                        "date": "2026-03-01",
                        "quantity": "42",
                    }
                ]
            }
        )
    )
    records: list[UsageRecordIn]
    """The daily counts, at most ``ICB_MAX_USAGE_RECORDS`` (10,000) per request."""


class ErrorItem(ApiModel):
    loc: list[str | int]
    """Where in the record: the field name."""
    msg: str
    """Why the value is refused."""


class RejectedRecord(ApiModel):
    index: int
    """The record's position in ``records``, from 0."""
    errors: list[ErrorItem]
    """Every reason the record was refused."""


class UsageAccepted(ApiModel):
    accepted: int
    """Records stored new."""
    unchanged: int
    """Records equal to the stored ones: nothing changed."""
    corrected: int
    """Records replacing a stored one of the same day with another quantity or name."""
    rejected: list[RejectedRecord]
    """Records refused, each with its reasons; the others are stored all the same."""


async def _body(request: Request, runtime: IngestRuntime) -> bytes:
    limit = runtime.settings.max_body_bytes
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return body


def _at_most(records: list[Any], runtime: IngestRuntime) -> list[Any]:
    most = runtime.settings.max_usage_records
    if len(records) > most:
        raise PayloadTooLarge(f"{len(records)} records; at most {most} are taken per request.")
    return records


async def _read_csv(request: Request, runtime: IngestRuntime) -> list[Any]:
    """The rows as records (record ``index`` = data row, from 0); empty cells are missing."""
    body = await _body(request, runtime)
    most = runtime.settings.max_usage_records
    try:
        rows = read_table(body, CSV_COLUMNS, CSV_COLUMNS, most)
    except TooManyRows as exc:
        raise PayloadTooLarge(f"More than {most} records; at most {most} per request.") from exc
    except CsvError as exc:
        raise invalid(exc.loc, exc.msg) from exc
    return [row.values for row in rows]


async def _read_records(request: Request, runtime: IngestRuntime) -> list[Any]:
    if is_csv(request):
        return await _read_csv(request, runtime)
    body = await _body(request, runtime)
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The body is not valid JSON.", errors=[{"loc": ["body"], "msg": str(exc)}]
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise invalid(["body", "records"], "an object with a list 'records' is required")
    records: list[Any] = payload["records"]
    return _at_most(records, runtime)


@router.post(
    "/usage",
    response_model=UsageAccepted,
    summary="Push daily usage",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": UsageBatchIn.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                },
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "example": "module,org_id,org_name,metric,date,quantity\n"
                        "datto_rmm,42,Contoso Ltd,servers,2026-10-01,12\n",
                    }
                },
            },
        }
    },
)
async def post_usage(request: Request, ctx: Caller, runtime: Runtime) -> UsageAccepted:
    """Stores every valid record and rejects the others one by one: JSON, or ``text/csv``
    with the header ``module,org_id,org_name,metric,date,quantity`` (a record's ``index`` is
    its data row, counted from 0). The answer comes after the
    commit: what it counts is durable, and a retry after a lost answer changes nothing (records
    are identified by tenant, module, org, metric and date)."""
    raw = await _read_records(request, runtime)
    async with runtime.transaction() as session:
        result = await take_in(
            session,
            runtime.outbox,
            ctx.tenant_id,
            raw,
            tenant_today(ctx),
            runtime.settings.usage_max_age_days,
            utc_now(),
        )
    return UsageAccepted.model_validate(
        {
            "accepted": result.accepted,
            "unchanged": result.unchanged,
            "corrected": result.corrected,
            "rejected": [r.as_json() for r in result.rejected],
        }
    )
