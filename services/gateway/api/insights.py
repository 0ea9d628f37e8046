"""``GET /v1/insights``: what needs attention, merged from the services that know it.

Each service answers the insights of its own facts at its ``/v1/insights`` (mapping: orgs,
metrics, contracts, stale modules; ingest: ``sync_failed``; invoicing: ``usage_anomaly``,
``webhook_endpoint_disabled``),
computed from its current state; the gateway asks those the ``kind`` filter concerns,
merges them (the most severe first) and pages the merged list."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from services.gateway.api.deps import Caller, Paging, Runtime
from services.gateway.proxy import RETURNED_HEADERS
from shared.context import CallerContext
from shared.openapi_docs import ApiModel
from shared.pagination import MAX_LIMIT, Page, PageParams, decode_cursor, page_of
from shared.wire import UtcDateTime

router = APIRouter(tags=["insights"])
PATH = "/v1/insights"
OWNERS = {
    "sync_failed": "ingest",
    "usage_anomaly": "invoicing",
    "webhook_endpoint_disabled": "invoicing",
}
"""kinds answered by a service other than mapping (which owns every other kind)"""
SERVICES = ("mapping", "ingest", "invoicing")
SEVERITY = {"critical": 0, "warning": 1, "info": 2}
MAX_KINDS = 20


class InsightKind(StrEnum):
    """Every kind the merged list may carry (the services define them)."""

    MODULE_NOT_ENABLED = "module_not_enabled"
    UNMAPPED_ORGS = "unmapped_orgs"
    UNMAPPED_METRIC = "unmapped_metric"
    USAGE_WITHOUT_CONTRACT = "usage_without_contract"
    STALE_MODULE = "stale_module"
    SYNC_FAILED = "sync_failed"
    USAGE_ANOMALY = "usage_anomaly"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"


class InsightSeverity(StrEnum):
    """How urgent: ``critical`` (money is being lost), ``warning`` or ``info``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class InsightOut(ApiModel):
    """Fields a kind does not have are left out."""

    kind: InsightKind
    """What the insight is about (see the operation's description)."""
    severity: InsightSeverity
    """``critical`` (money is being lost), ``warning`` or ``info``."""
    module: str | None = None
    """The module concerned, where the kind has one (``sync_failed`` among them)."""
    metric: str | None = None
    """The metric concerned (``unmapped_metric``)."""
    org_id: str | None = None
    """The org concerned (``unmapped_orgs``)."""
    company_id: str | None = None
    """The company concerned (``usage_without_contract``, ``usage_anomaly``)."""
    invoice_id: str | None = None
    """The held draft (``usage_anomaly``)."""
    period: str | None = None
    """The held draft's month, ``YYYY-MM`` (``usage_anomaly``)."""
    webhook_id: str | None = None
    """The disabled webhook endpoint (``webhook_endpoint_disabled``)."""
    url: str | None = None
    """The disabled endpoint's URL (``webhook_endpoint_disabled``)."""
    since: UtcDateTime | None = None
    """When every delivery to the disabled endpoint began failing
    (``webhook_endpoint_disabled``)."""
    message: str
    """The insight in a sentence, for people."""
    count: int
    """How much is concerned; what it counts depends on the kind
    (``webhook_endpoint_disabled``: its deliveries waiting)."""
    items: list[dict[str, Any]] | None = None
    """The details, where the kind has them: ``unmapped_metric``,
    ``usage_without_contract``, ``sync_failed`` (the failed days with their error),
    ``usage_anomaly`` (the anomalous services with quantity and baseline)."""
    suggestions: list[dict[str, Any]] | None = None
    """``unmapped_orgs``: the companies most likely meant, best first."""


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _asked(values: list[str] | None) -> dict[str, list[str]]:
    """Per service asked, the kinds to ask it for (empty: all of its kinds)."""
    asked = [k.strip() for value in values or () for k in value.split(",") if k.strip()]
    if not asked:
        return {service: [] for service in SERVICES}
    out: dict[str, list[str]] = {}
    for kind in asked:
        out.setdefault(OWNERS.get(kind, "mapping"), []).append(kind)
    return out


def _wanted(paging: PageParams) -> int:
    """How many of each service's insights the page needs: each service lists its insights
    the most severe first and the merge keeps their order, so the merged list's first ``n``
    come from the first ``n`` of each; one more tells whether a next page exists."""
    page_of((), paging)  # a cursor this API did not issue is refused before asking anyone
    start = decode_cursor(paging.cursor)[0] if paging.cursor else 0
    return int(start) + paging.limit + 1


async def _first(
    runtime: Any, service: str, params: list[tuple[str, str]], ctx: CallerContext, wanted: int
) -> list[dict[str, Any]]:
    """The service's first ``wanted`` insights (all of them if it has fewer)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = [*params, ("limit", str(min(MAX_LIMIT, wanted - len(items))))]
        if cursor:
            page_params.append(("cursor", cursor))
        answer = await runtime.upstreams.get(
            service, PATH, httpx.QueryParams(tuple(page_params)), ctx
        )
        if answer.status_code != 200:
            headers = {h: v for h in RETURNED_HEADERS if (v := answer.headers.get(h))}
            raise Refused(Response(answer.content, answer.status_code, headers=headers))
        body = answer.json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor or len(items) >= wanted:
            return items


@router.get(
    PATH,
    response_class=JSONResponse,
    responses={200: {"model": Page[InsightOut]}},
    summary="List what needs attention",
)
async def list_insights(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    kind: Annotated[list[str] | None, Query(max_length=MAX_KINDS)] = None,
    stale_days: Annotated[int | None, Query(ge=1, le=366)] = None,
) -> Response:
    """What needs attention now, the most severe first; each insight is gone once its cause
    is. Besides mapping's kinds (``module_not_enabled``, ``unmapped_orgs``,
    ``unmapped_metric``, ``usage_without_contract``, ``stale_module``):

    - ``sync_failed`` (critical): a module whose latest sync of a day ended failed, with the
      error (``items``: the failed days), until a later sync of that day succeeds;
    - ``usage_anomaly`` (warning): a held draft (``invoice_id``, ``period``; ``items``: its
      anomalous services with quantity and baseline);
    - ``webhook_endpoint_disabled`` (warning): a webhook endpoint disabled after days of
      failed deliveries (``webhook_id``, ``url``, ``since``: when every delivery began
      failing), until a retry by hand succeeds or the endpoint is deleted.

    ``kind`` (comma-separated or repeated) narrows the answer."""
    asked = _asked(kind)
    wanted = _wanted(paging)
    calls = []
    for service, kinds in asked.items():
        params: list[tuple[str, str]] = [("kind", k) for k in kinds]
        if service == "mapping" and stale_days is not None:
            params.append(("stale_days", str(stale_days)))
        calls.append(_first(runtime, service, params, ctx, wanted))
    try:
        found = await asyncio.gather(*calls)
    except Refused as refused:
        return refused.response
    merged = sorted(
        (item for items in found for item in items),
        key=lambda i: SEVERITY.get(i.get("severity", ""), len(SEVERITY)),
    )
    page = page_of(merged, paging)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})
