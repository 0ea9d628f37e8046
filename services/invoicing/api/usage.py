"""The unit table as the MSP reads it: daily quantities per company, module and metric."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.units.service import UsageFilter, daily_totals, daily_usage
from shared.openapi_docs import ApiModel
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.problems import invalid
from shared.wire import Quantity, ordered

router = APIRouter(prefix="/v1", tags=["usage"])
MAX_RANGE_DAYS = 400


class UnitOut(ApiModel):
    date: date
    """The day."""
    company_id: str
    """The company the usage is mapped to."""
    module: str
    """The catalog id of the module counted."""
    metric: str
    """The catalog id of the metric counted."""
    quantity: Quantity
    """The day's units of the company's orgs."""
    estimated: bool
    """Whether the units were carried forward from an earlier day because the module sent
    nothing for this one."""


class DayTotalOut(ApiModel):
    date: date
    """The day."""
    quantity: Quantity
    """The day's units of every company, module and metric read."""
    estimated: bool
    """Whether some of the units were carried forward from an earlier day."""


class DayTotals(ApiModel):
    items: list[DayTotalOut]
    """One row per day with units, in date order; days without any are left out."""


@dataclass
class UsageQuery:
    """The unit table's filters and date range, shared by its rows and its daily totals."""

    company_id: Annotated[str | None, Query(max_length=36)] = None
    module: Annotated[str | None, Query(max_length=64)] = None
    metric: Annotated[str | None, Query(max_length=64)] = None
    from_: Annotated[date | None, Query(alias="from")] = None
    to: date | None = None

    def days(self, timezone: str) -> tuple[date, date]:
        """The range asked for (default: the current month so far), checked."""
        today = datetime.now(ZoneInfo(timezone)).date()
        start = self.from_ or today.replace(day=1)
        end = self.to or today
        ordered(start, end)
        if (end - start).days > MAX_RANGE_DAYS:
            raise invalid(["query", "to"], f"the range is limited to {MAX_RANGE_DAYS} days")
        return start, end

    def filter(self) -> UsageFilter:
        return UsageFilter(self.company_id, self.module, self.metric)


@router.get("/usage", response_model=Page[UnitOut], summary="Read the unit table")
async def unit_table(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    query: Annotated[UsageQuery, Depends()],
) -> Page[UnitOut]:
    """Mapped usage per day (default: the current month); carried-forward days are marked
    ``estimated``."""
    start, end = query.days(ctx.timezone)
    async with runtime.sessions() as session:
        days = await daily_usage(session, ctx.tenant_id, start, end, query.filter())
    offset = int(decode_cursor(paging.cursor)[0]) if paging.cursor else 0
    page = days[offset : offset + paging.limit]
    more = offset + paging.limit < len(days)
    return Page(
        items=[
            UnitOut(
                date=d.date,
                company_id=d.company_id,
                module=d.module,
                metric=d.metric,
                quantity=d.quantity,
                estimated=d.estimated,
            )
            for d in page
        ],
        next_cursor=encode_cursor([offset + paging.limit]) if more else None,
    )


@router.get(
    "/usage/daily-totals", response_model=DayTotals, summary="Read the unit table's daily totals"
)
async def unit_table_totals(
    ctx: Caller, runtime: Runtime, query: Annotated[UsageQuery, Depends()]
) -> DayTotals:
    """The unit table summed per day in one answer (same filters and range as
    ``GET /v1/usage``): a day is ``estimated`` when any of its rows is."""
    start, end = query.days(ctx.timezone)
    async with runtime.sessions() as session:
        totals = await daily_totals(session, ctx.tenant_id, start, end, query.filter())
    return DayTotals(
        items=[DayTotalOut(date=t.date, quantity=t.quantity, estimated=t.estimated) for t in totals]
    )
