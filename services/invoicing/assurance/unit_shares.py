"""The period's usage per ``(module, metric)`` and share (billed, or why not), summed over
its days, in one pass over the unit table.

The unit table keeps every usage record (one row per service code it feeds; none: an
unmapped or excluded org, or a metric without a service), so re-resolutions and usage
corrections are in it as soon as invoicing has them. A record feeding several services
counts once, under its best share: billed when any of its services is in force that day
in a contract of the company.

Rows are summed as they are, per metric, day and org status, with the part without a
service and the part whose service is in force apart; :func:`.classify` gives each part its
share, with the module's billing state of that day. A record is one row unless its metric
feeds several services: only the metrics whose rows name more than one service code in the
period are summed again record by record, which sorts their rows. A service's days in force
come from the contracts as a bit per day of the period, one value per company and service
code (several contracts or versions carrying the code are or-ed together), so that the join
finds at most one match for a row. The aggregate needs no window function and groups by
plain columns, so PostgreSQL runs it in parallel workers with partial aggregates."""

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
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.reconciliation import Share, classify
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
    later = versions.alias("later")
    bounds = (
        select(versions.c.contract_id, versions.c.since, func.min(later.c.since).label("until"))
        .outerjoin(
            later,
            and_(later.c.contract_id == versions.c.contract_id, later.c.since > versions.c.since),
        )
        .group_by(versions.c.contract_id, versions.c.since)
        .subquery()
    )

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
    """The period's unit rows (of ``only`` these metrics), each with whether it feeds a
    service and whether that service is in force that day."""
    cover = _cover(tenant_id, start, end, dialect)
    in_force = (
        cover.c.days.op(">>")(_day_number(_u.day, start, dialect)).self_group().op("&")(1) == 1
    )
    rows = (
        select(
            _u.module,
            _u.org_id,
            _u.metric,
            _u.day,
            _u.status,
            func.nullif(_u.service_code, NO_SERVICE).label("code"),
            case((_u.service_code == NO_SERVICE, 0), else_=1).label("has_service"),
            case((in_force, 1), else_=0).label("covered"),
            _u.quantity,
        )
        .select_from(UnitRow.__table__)
        .outerjoin(
            cover,
            and_(cover.c.company_id == _u.company_id, cover.c.service_code == _u.service_code),
        )
        .where(_u.tenant_id == tenant_id, _u.day >= start, _u.day <= end)
    )
    if only is not None:
        rows = rows.where(tuple_(_u.module, _u.metric).in_(list(only)))
    return rows.subquery()


def _sums(rows: Subquery | Any) -> Select[Any]:
    """Per metric, day and org status: the quantity, the part without a service and the
    part whose service is in force."""
    keys = (rows.c.module, rows.c.metric, rows.c.day, rows.c.status)
    return select(
        *keys,
        func.sum(rows.c.quantity),
        func.sum(case((rows.c.has_service == 0, rows.c.quantity), else_=0)),
        func.sum(case((rows.c.covered == 1, rows.c.quantity), else_=0)),
    ).group_by(*keys)


def _per_row(tenant_id: str, start: date, end: date, dialect: str) -> Select[Any]:
    """Each row as a record; with the lowest and highest service code, which tell the
    metrics with records of several rows."""
    rows = _rows(tenant_id, start, end, dialect, None)
    return _sums(rows).add_columns(func.min(rows.c.code), func.max(rows.c.code))


def _per_record(
    tenant_id: str, start: date, end: date, dialect: str, metrics: Sequence[Metric]
) -> Select[Any]:
    """The records of ``metrics``, each once: covered when any of its rows is."""
    rows = _rows(tenant_id, start, end, dialect, metrics)
    records = (
        select(
            rows.c.module,
            rows.c.metric,
            rows.c.day,
            func.min(rows.c.status).label("status"),
            func.max(rows.c.has_service).label("has_service"),
            func.max(rows.c.covered).label("covered"),
            func.max(rows.c.quantity).label("quantity"),
        )
        .group_by(rows.c.module, rows.c.org_id, rows.c.metric, rows.c.day)
        .subquery()
    )
    return _sums(records)


async def _billed_from(session: AsyncSession, tenant_id: str) -> dict[str, date | None]:
    """Per module the first day its billing is on (None: off)."""
    rows = await session.execute(
        select(_m.module, _m.enabled, _m.effective_from).where(_m.tenant_id == tenant_id)
    )
    return {module: since if enabled else None for module, enabled, since in rows}


async def usage_shares(session: AsyncSession, tenant_id: str, start: date, end: date) -> Usage:
    dialect = dialect_of(session)
    if dialect == "postgresql":
        # Metrics summed record by record sort their rows: in memory, not on disk.
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    billed_from = await _billed_from(session, tenant_id)
    out: Usage = defaultdict(lambda: defaultdict(Decimal))

    def add(
        module: str, metric: str, on: date, status: str, total: Any, bare: Any, covered: Any
    ) -> None:
        since = billed_from.get(module)
        enabled = since is not None and since <= on
        by_share = out[(module, metric)]
        parts = (
            (False, False, Decimal(bare)),
            (True, True, Decimal(covered)),
            (True, False, Decimal(total) - Decimal(bare) - Decimal(covered)),
        )
        for has_service, in_force, quantity in parts:
            if quantity:
                share = classify(
                    billing_enabled=enabled,
                    status=status,
                    has_service=has_service,
                    covered=in_force,
                )
                by_share[share] += quantity

    codes: dict[Metric, set[str]] = defaultdict(set)
    for module, metric, on, status, total, bare, covered, lowest, highest in await session.execute(
        _per_row(tenant_id, start, end, dialect)
    ):
        add(module, metric, on, status, total, bare, covered)
        codes[(module, metric)].update(c for c in (lowest, highest) if c is not None)
    several = sorted(metric for metric, named in codes.items() if len(named) > 1)
    if several:
        for metric in several:
            out[metric] = defaultdict(Decimal)
        for module, metric, on, status, total, bare, covered in await session.execute(
            _per_record(tenant_id, start, end, dialect, several)
        ):
            add(module, metric, on, status, total, bare, covered)
    return {metric: dict(by_share) for metric, by_share in out.items()}
