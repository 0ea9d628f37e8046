"""Insights: what needs the MSP's attention now, computed from the current state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.mapping.api.deps import Caller, Paging, Runtime
from services.mapping.api.module_orgs import Suggestion
from services.mapping.insights import rules as insights
from services.mapping.insights import service
from shared.openapi_docs import ApiModel
from shared.pagination import Page
from shared.problems import invalid

router = APIRouter(prefix="/v1", tags=["insights"])
MAX_STALE_DAYS = 366


class InsightOut(ApiModel):
    kind: insights.InsightKind
    """What the insight is about (see the operation's description)."""
    severity: insights.InsightSeverity
    """`critical` (money is being lost), `warning` or `info`."""
    module: str | None = None
    """The module concerned, where the kind has one."""
    metric: str | None = None
    """The metric concerned (``unmapped_metric``)."""
    org_id: str | None = None
    """The org concerned (``unmapped_orgs``)."""
    company_id: str | None = None
    """The company concerned (``usage_without_contract``)."""
    message: str
    """The insight in a sentence, for people."""
    count: int
    """How much is concerned; what it counts depends on the kind."""
    items: list[dict[str, Any]] | None = None
    """The details, where the kind has them (``unmapped_metric``,
    ``usage_without_contract``)."""
    suggestions: list[Suggestion] | None = None
    """``unmapped_orgs``: the companies most likely meant, best first."""

    def answer(self) -> dict[str, Any]:
        """Fields a kind does not have are left out (nested ones keep their nulls). Not a
        model serializer: its ``dict`` return type would hide every field and the kinds from
        the API document."""
        absent = {name for name in type(self).model_fields if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=absent)

    @classmethod
    def of(cls, i: insights.Insight) -> InsightOut:
        return cls(
            kind=i.kind,
            severity=i.severity,
            module=i.module,
            metric=i.metric,
            org_id=i.org_id,
            company_id=i.company_id,
            message=i.message,
            count=i.count,
            items=None if i.items is None else list(i.items),
            suggestions=None
            if i.suggestions is None
            else [Suggestion.of(s) for s in i.suggestions],
        )


def _kinds(values: list[str]) -> tuple[insights.InsightKind, ...]:
    asked = [k.strip() for value in values for k in value.split(",") if k.strip()]
    unknown = [k for k in asked if k not in insights.KINDS]
    if unknown:
        raise invalid(
            ["query", "kind"],
            f"unknown kind(s) {', '.join(map(repr, unknown))}; "
            f"the kinds are {', '.join(insights.KINDS)}",
        )
    return tuple(k for k in insights.KINDS if k in asked)


@router.get("/insights", response_model=Page[InsightOut], summary="List what needs attention")
async def list_insights(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    kind: Annotated[list[str] | None, Query(max_length=len(insights.KINDS))] = None,
    stale_days: Annotated[int, Query(ge=1, le=MAX_STALE_DAYS)] = insights.DEFAULT_STALE_DAYS,
) -> JSONResponse:
    """What needs attention now, the most severe first; each insight is gone once its cause is.

    - ``module_not_enabled``: a module sends usage but billing is off (``count``: its orgs);
    - ``unmapped_orgs``: one per org waiting for a mapping, with ``suggestions`` (``count``:
      its usage records waiting);
    - ``unmapped_metric``: a metric of mapped orgs that no service mapping covers, with the
      companies and orgs as ``items`` (``count``: companies);
    - ``usage_without_contract`` (critical): one per company whose billed usage since the
      first of the previous month resolves to service codes that no contract of the company
      carries on the day of the usage, so no invoice bills it; ``items``: per service code
      and ``(module, metric)`` the uncovered ``days``, ``first_day`` and ``last_day``
      (``count``: service codes not covered);
    - ``stale_module``: no usage for more than ``stale_days`` days (``count``: days silent).

    ``kind`` (comma-separated or repeated) narrows the answer."""
    kinds = _kinds(kind) if kind else insights.KINDS
    today = datetime.now(ZoneInfo(ctx.timezone)).date()
    async with runtime.sessions() as session:
        page = await service.insights(session, ctx.tenant_id, today, stale_days, paging, kinds)
    return JSONResponse(
        {
            "items": [InsightOut.of(i).answer() for i in page.items],
            "next_cursor": page.next_cursor,
        }
    )
