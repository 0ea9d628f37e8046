"""The period's usage per ``(module, metric)`` and share (billed, or why not), summed over
its days, in one pass over the unit table.

The unit table keeps every usage record (one row per service code it feeds; none: an
unmapped or excluded org, or a metric without a service), so re-resolutions and usage
corrections are in it as soon as invoicing has them. A record feeding several services
counts once, under its best share: billed when any of its services is in force that day
in a contract of the company.

Rows are summed as they are, grouped by metric and share: a record is one row unless its
metric feeds several services. Only the metrics whose rows name more than one service code
in the period are summed again record by record, which sorts their rows. A service's days
in force come from the contracts as a bit per day of the period, one value per company and
service code (several contracts or versions carrying the code are or-ed together), so that
the join finds at most one match for a row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
)
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
Metric = tuple[str, str]

_u = UnitRow.__table__.c
_m = ModuleBillingRow.__table__.c
_c = ContractRow.__table__.c
_s = ContractServiceRow.__table__.c


def _day_number(day: ColumnElement[Any], first: date, dialect: str) -> ColumnElement[int]:
    """Days from ``first`` to ``day`` (0 on the period's first day)."""
    if dialect == "postgresql":
        return cast(day - literal(first, Date), Integer)
    return cast(func.julianday(day) - func.julianday(literal(first, Date)), Integer)


def _bit(number: ColumnElement[int] | int) -> ColumnElement[int]:
    return literal(1, BigInteger).op("<<")(number)


def _either(masks: ColumnElement[int], days: int, dialect: str) -> ColumnElement[int]:
    """The bitwise or of a group's masks (SQLite has no ``bit_or``: bit by bit)."""
    if dialect == "postgresql":
        return func.bit_or(masks)
    total: ColumnElement[int] = literal(0, BigInteger)
    for d in range(days):
        total = total + func.max(masks.op("&")(_bit(d)))
    return total


def _clip(
    number: ColumnElement[int], low: ColumnElement[int] | int, high: ColumnElement[int] | int
) -> ColumnElement[int]:
    return case((number < low, low), (number > high, high), else_=number)


def _cover(tenant_id: str, start: date, end: date, dialect: str) -> Subquery:
    """Per company and service code, the days of the period on which a contract version
    carrying the code is in force (bit d: the period's day d)."""
    days = (end - start).days + 1
    since = func.coalesce(_s.effective_from, _c.start_date)
    in_period = and_(
        _c.tenant_id == tenant_id,
        _c.start_date <= end,
        or_(_c.end_date.is_(None), _c.end_date >= start),
    )
    versions = (
        select(_s.contract_id, since.label("since"))
        .join(ContractRow.__table__, _c.id == _s.contract_id)
        .where(in_period)
        .distinct()
        .subquery()
    )
    bounds = select(
        versions.c.contract_id,
        versions.c.since,
        func.lead(versions.c.since)
        .over(partition_by=versions.c.contract_id, order_by=versions.c.since)
        .label("until"),
    ).subquery()

    def number(day: ColumnElement[Any]) -> ColumnElement[int]:
        return _day_number(day, start, dialect)

    spans = (
        select(
            _c.company_id,
            _s.service_code,
            number(bounds.c.since).label("since"),
            func.coalesce(number(bounds.c.until), days).label("until"),
            func.coalesce(number(_c.end_date) + 1, days).label("stop"),
        )
        .select_from(ContractServiceRow.__table__)
        .join(ContractRow.__table__, _c.id == _s.contract_id)
        .join(bounds, and_(bounds.c.contract_id == _s.contract_id, bounds.c.since == since))
        .where(in_period)
        .subquery()
    )
    first = _clip(spans.c.since, 0, days)
    after = _clip(case((spans.c.until < spans.c.stop, spans.c.until), else_=spans.c.stop), 0, days)
    bounded = select(
        spans.c.company_id, spans.c.service_code, first.label("first"), after.label("after")
    ).subquery()
    terms = select(
        bounded.c.company_id,
        bounded.c.service_code,
        case(
            (bounded.c.after > bounded.c.first, _bit(bounded.c.after) - _bit(bounded.c.first)),
            else_=literal(0, BigInteger),
        ).label("mask"),
    ).subquery()
    return (
        select(
            terms.c.company_id,
            terms.c.service_code,
            _either(terms.c.mask, days, dialect).label("days"),
        )
        .group_by(terms.c.company_id, terms.c.service_code)
        .subquery()
    )


def _rows(
    tenant_id: str, start: date, end: date, dialect: str, only: Sequence[Metric] | None
) -> Subquery:
    """The period's unit rows (of ``only`` these metrics), each with its share: its module's
    billing state, its org's mapping, its service's days in force."""
    cover = _cover(tenant_id, start, end, dialect)
    in_force = (
        cover.c.days.op(">>")(_day_number(_u.day, start, dialect)).self_group().op("&")(1) == 1
    )
    share = case(
        (
            or_(
                _m.enabled.is_(None),
                _m.enabled == false(),
                _m.effective_from.is_(None),
                _m.effective_from > _u.day,
            ),
            literal(int(Share.BILLING_DISABLED)),
        ),
        (_u.status == "excluded", literal(int(Share.EXCLUDED_ORG))),
        (_u.status == "unmapped", literal(int(Share.UNMAPPED_ORG))),
        (_u.service_code == NO_SERVICE, literal(int(Share.UNMAPPED_METRIC))),
        (in_force, literal(int(Share.BILLED))),
        else_=literal(int(Share.NO_CONTRACT)),
    )
    rows = (
        select(
            _u.module,
            _u.org_id,
            _u.metric,
            _u.day,
            func.nullif(_u.service_code, NO_SERVICE).label("code"),
            _u.quantity,
            share.label("share"),
        )
        .select_from(UnitRow.__table__)
        .outerjoin(
            ModuleBillingRow.__table__,
            and_(_m.tenant_id == _u.tenant_id, _m.module == _u.module),
        )
        .outerjoin(
            cover,
            and_(cover.c.company_id == _u.company_id, cover.c.service_code == _u.service_code),
        )
        .where(_u.tenant_id == tenant_id, _u.day >= start, _u.day <= end)
    )
    if only is not None:
        rows = rows.where(tuple_(_u.module, _u.metric).in_(list(only)))
    return rows.subquery()


def _per_row(tenant_id: str, start: date, end: date, dialect: str) -> Select[Any]:
    """Each row as a record: per metric and share the summed quantity, and the lowest and
    highest service code, which tell the metrics with records of several rows."""
    rows = _rows(tenant_id, start, end, dialect, None)
    return select(
        rows.c.module,
        rows.c.metric,
        rows.c.share,
        func.sum(rows.c.quantity),
        func.min(rows.c.code),
        func.max(rows.c.code),
    ).group_by(rows.c.module, rows.c.metric, rows.c.share)


def _per_record(
    tenant_id: str, start: date, end: date, dialect: str, metrics: Sequence[Metric]
) -> Select[Any]:
    """The records of ``metrics``, each counted once under the best share of its rows."""
    rows = _rows(tenant_id, start, end, dialect, metrics)
    records = (
        select(
            rows.c.module,
            rows.c.metric,
            func.min(rows.c.share).label("share"),
            func.max(rows.c.quantity).label("quantity"),
        )
        .group_by(rows.c.module, rows.c.org_id, rows.c.metric, rows.c.day)
        .subquery()
    )
    return select(
        records.c.module,
        records.c.metric,
        records.c.share,
        func.sum(records.c.quantity),
        null(),
        null(),
    ).group_by(records.c.module, records.c.metric, records.c.share)


async def usage_shares(session: AsyncSession, tenant_id: str, start: date, end: date) -> Usage:
    dialect = dialect_of(session)
    if dialect == "postgresql":
        # Metrics summed record by record sort their rows: in memory, not on disk.
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    out: Usage = defaultdict(dict)
    codes: dict[Metric, set[str]] = defaultdict(set)
    for module, metric, share, total, lowest, highest in await session.execute(
        _per_row(tenant_id, start, end, dialect)
    ):
        out[(module, metric)][Share(int(share))] = Decimal(total)
        codes[(module, metric)].update(c for c in (lowest, highest) if c is not None)
    several = sorted(metric for metric, named in codes.items() if len(named) > 1)
    if several:
        for metric in several:
            out[metric] = {}
        for module, metric, share, total, _, _ in await session.execute(
            _per_record(tenant_id, start, end, dialect, several)
        ):
            out[(module, metric)][Share(int(share))] = Decimal(total)
    return dict(out)
