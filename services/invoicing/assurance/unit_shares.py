"""The period's usage per ``(module, metric)`` and share (billed, or why not), summed over
its days, in one aggregate over the unit table.

The unit table keeps every usage record (one row per service code it feeds; none: an
unmapped or excluded org, or a metric without a service), so re-resolutions and usage
corrections are in it as soon as invoicing has them. A record feeding several services
counts once, under its best share: billed when any of its services is on a contract of
the company active that day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.reconciliation import Share
from services.invoicing.models import (
    ContractRow,
    ContractServiceRow,
    ModuleBillingRow,
    UnitRow,
)
from services.invoicing.runs.service import SORT_MEMORY
from services.invoicing.units.service import NO_SERVICE
from shared.db import dialect_of

Usage = dict[tuple[str, str], dict[Share, Decimal]]


async def usage_shares(session: AsyncSession, tenant_id: str, start: date, end: date) -> Usage:
    if dialect_of(session) == "postgresql":
        # The month's rows are hashed by metric and share: in memory, not on disk.
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    u = UnitRow.__table__.c
    m = ModuleBillingRow.__table__.c
    c = ContractRow.__table__.c
    s = ContractServiceRow.__table__.c
    cover = (
        select(c.company_id, s.service_code, c.start_date, c.end_date)
        .join(ContractServiceRow.__table__, s.contract_id == c.id)
        .where(
            c.tenant_id == tenant_id,
            c.start_date <= end,
            or_(c.end_date.is_(None), c.end_date >= start),
        )
        .subquery()
    )
    share = case(
        (
            or_(
                m.enabled.is_(None),
                m.enabled == false(),
                m.effective_from.is_(None),
                m.effective_from > u.day,
            ),
            literal(int(Share.BILLING_DISABLED)),
        ),
        (u.status == "excluded", literal(int(Share.EXCLUDED_ORG))),
        (u.status == "unmapped", literal(int(Share.UNMAPPED_ORG))),
        (u.service_code == NO_SERVICE, literal(int(Share.UNMAPPED_METRIC))),
        (cover.c.company_id.is_not(None), literal(int(Share.BILLED))),
        else_=literal(int(Share.NO_CONTRACT)),
    )
    in_period = (u.tenant_id == tenant_id, u.day >= start, u.day <= end)
    # Only a company's metric resolved to several service codes has records of several rows;
    # those are grouped record by record, every other row is a record and is summed as is.
    several = (
        select(u.module, u.metric, u.company_id)
        .where(*in_period, u.status == "mapped", u.service_code != NO_SERVICE)
        .group_by(u.module, u.metric, u.company_id)
        .having(func.min(u.service_code) != func.max(u.service_code))
        .cte("several")
    )
    of_several = and_(
        several.c.module == u.module,
        several.c.metric == u.metric,
        several.c.company_id == u.company_id,
    )

    def rows_with_share() -> Select[Any]:
        return (
            select(u.module, u.metric)
            .select_from(UnitRow.__table__)
            .outerjoin(
                ModuleBillingRow.__table__, and_(m.tenant_id == u.tenant_id, m.module == u.module)
            )
            .outerjoin(
                cover,
                and_(
                    cover.c.company_id == u.company_id,
                    cover.c.service_code == u.service_code,
                    cover.c.start_date <= u.day,
                    or_(cover.c.end_date.is_(None), cover.c.end_date >= u.day),
                ),
            )
            .where(*in_period)
        )

    single = (
        rows_with_share()
        .add_columns(share.label("share"), u.quantity.label("quantity"))
        .outerjoin(several, of_several)
        .where(several.c.module.is_(None))
    )
    grouped = (
        rows_with_share()
        .add_columns(func.min(share).label("share"), func.max(u.quantity).label("quantity"))
        .join(several, of_several)
        .group_by(u.module, u.org_id, u.metric, u.day)
    )
    per_record = union_all(single, grouped).subquery()
    query = select(
        per_record.c.module,
        per_record.c.metric,
        per_record.c.share,
        func.sum(per_record.c.quantity),
    ).group_by(per_record.c.module, per_record.c.metric, per_record.c.share)
    out: Usage = defaultdict(dict)
    for module, metric, share_value, total in await session.execute(query):
        out[(module, metric)][Share(int(share_value))] = Decimal(total)
    return dict(out)
