"""The unit table as the MSP reads it: daily quantities per company, module and metric."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.billing import MAX_CARRIED_DAYS, fill_missing_days
from services.invoicing.models import UnitRow
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.problems import invalid

router = APIRouter(prefix="/v1", tags=["usage"])
MAX_RANGE_DAYS = 400


class UnitOut(BaseModel):
    date: date
    company_id: str
    module: str
    metric: str
    quantity: Decimal
    estimated: bool


@router.get("/usage", response_model=Page[UnitOut])
async def unit_table(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    company_id: Annotated[str | None, Query(max_length=36)] = None,
    module: Annotated[str | None, Query(max_length=64)] = None,
    metric: Annotated[str | None, Query(max_length=64)] = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> Page[UnitOut]:
    """Mapped usage per day (default: the current month); carried-forward days are marked
    ``estimated``."""
    today = datetime.now(ZoneInfo(ctx.timezone)).date()
    start = from_ or today.replace(day=1)
    end = to or today
    if end < start:
        raise invalid(["query", "to"], "must not be before from")
    if (end - start).days > MAX_RANGE_DAYS:
        raise invalid(["query", "to"], f"the range is limited to {MAX_RANGE_DAYS} days")
    u = UnitRow.__table__.c
    window = (
        u.tenant_id == ctx.tenant_id,
        u.day >= start - timedelta(days=MAX_CARRIED_DAYS),
        u.day <= end,
    )
    per_record = (
        select(u.company_id, u.module, u.org_id, u.metric, u.day, u.quantity)
        .where(*window, u.status == "mapped")
        .distinct()
    )
    for column, value in ((u.company_id, company_id), (u.module, module), (u.metric, metric)):
        if value is not None:
            per_record = per_record.where(column == value)
    sub = per_record.subquery()
    query = select(
        sub.c.company_id, sub.c.module, sub.c.metric, sub.c.day, func.sum(sub.c.quantity)
    ).group_by(sub.c.company_id, sub.c.module, sub.c.metric, sub.c.day)
    series: dict[tuple[str, str, str], dict[date, Decimal]] = defaultdict(dict)
    async with runtime.sessions() as session:
        for cid, mod, met, day, quantity in await session.execute(query):
            series[(cid, mod, met)][day] = Decimal(quantity)
        reported: dict[str, set[date]] = defaultdict(set)
        for mod, day in await session.execute(select(u.module, u.day).where(*window).distinct()):
            reported[mod].add(day)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows: list[UnitOut] = []
    for (cid, mod, met), values in sorted(series.items()):
        for day, filled in sorted(fill_missing_days(days, reported[mod], values).items()):
            if filled.quantity != 0 or filled.estimated or day in values:
                rows.append(
                    UnitOut(
                        date=day,
                        company_id=cid,
                        module=mod,
                        metric=met,
                        quantity=filled.quantity,
                        estimated=filled.estimated,
                    )
                )
    offset = int(decode_cursor(paging.cursor)[0]) if paging.cursor else 0
    page = rows[offset : offset + paging.limit]
    more = offset + paging.limit < len(rows)
    return Page(items=page, next_cursor=encode_cursor([offset + paging.limit]) if more else None)
