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

from sqlalchemy import and_, case, false, func, literal, or_, select, text
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
        # Grouping a month's records sorts millions of rows: in memory, not on disk.
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
    per_record = (
        select(
            u.module,
            u.metric,
            func.min(share).label("share"),
            func.max(u.quantity).label("quantity"),
        )
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
        .where(u.tenant_id == tenant_id, u.day >= start, u.day <= end)
        .group_by(u.module, u.org_id, u.metric, u.day)
        .subquery()
    )
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
