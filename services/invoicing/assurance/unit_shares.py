"""The period's usage per ``(module, metric)`` and share (billed, or why not), summed over
its days, from the unit table summed per month (:data:`~.models.usage_months`).

A summary row holds an org's records of one metric with one resolution (status, company,
service codes) as a quantity per day of the month. Their shares follow from that, the day,
and two sets of days applied as the reconciliation is read: the days the module's billing
is on, and the days a contract of the company carries one of the codes (a record feeding
several services is billed when any of them is in force). Each set is a bit mask of the
period's days; a row sums its days in a mask, its total where the mask is full or empty
(nearly always). Contracts, amendments and billing states thus count as they are when the
reconciliation is read, and re-resolutions and corrections as soon as the unit table has
them. The masks of contracts come as one value per company and service code (several
contracts or versions carrying the code or-ed together), and per company and set of codes
for the few records feeding several services, so that the join finds at most one match for
a summary row."""

from __future__ import annotations

from collections import defaultdict
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
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.models import CODES_SEPARATOR, day_column, usage_months
from services.invoicing.assurance.reconciliation import QUANTUM, Share, classify
from services.invoicing.models import ContractRow, ContractServiceRow, ModuleBillingRow
from shared.db import dialect_of

Usage = dict[tuple[str, str], dict[Share, Decimal]]

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


def _enabled_days(states: dict[str, date | None], start: date, days: int) -> dict[str, int]:
    """Per module the mask of the period's days its billing is on."""
    out = {}
    for module, since in states.items():
        first = days if since is None else max(0, min(days, (since - start).days))
        out[module] = ((1 << days) - 1) ^ ((1 << first) - 1)
    return out


def _code_sets(cover: Subquery, rows: Any, dialect: str, days: int) -> Select[Any]:
    """The days any code of a set is in force, per company and set of several codes."""
    sets = (
        select(rows.c.company_id, rows.c.service_codes)
        .where(rows.c.service_codes.contains(CODES_SEPARATOR))
        .distinct()
        .subquery()
    )
    find = func.strpos if dialect == "postgresql" else func.instr
    member = (
        find(
            literal(CODES_SEPARATOR) + sets.c.service_codes + literal(CODES_SEPARATOR),
            literal(CODES_SEPARATOR) + cover.c.service_code + literal(CODES_SEPARATOR),
        )
        > 0
    )
    return (
        select(sets.c.company_id, sets.c.service_codes, _either(cover.c.days, days, dialect))
        .join(cover, and_(cover.c.company_id == sets.c.company_id, member))
        .group_by(sets.c.company_id, sets.c.service_codes)
    )


def _within(mask: ColumnElement[int], full: int, days: int, rows: Any) -> ColumnElement[Any]:
    """A summary row's quantity on the days of ``mask``."""
    bits = (
        case((mask.op("&")(literal(1 << d, BigInteger)) != 0, rows.c[day_column(d + 1)]), else_=0)
        for d in range(days)
    )
    return case(
        (mask == full, rows.c.quantity),
        (mask == 0, literal(0)),
        else_=sum(bits, literal(0)),
    )


def _aggregate(
    tenant_id: str, start: date, end: date, dialect: str, enabled: dict[str, int]
) -> Select[Any]:
    """Per metric, org status and whether the records feed a service: the quantity, the
    part on days the module's billing is on, and the part of that on which a service is
    in force."""
    days = (end - start).days + 1
    full = (1 << days) - 1
    rows = (
        select(usage_months)
        .where(usage_months.c.tenant_id == tenant_id, usage_months.c.month == start)
        .subquery()
    )
    cover = _cover(tenant_id, start, end, dialect)
    covers = union_all(
        select(cover.c.company_id, cover.c.service_code, cover.c.days),
        _code_sets(cover, rows, dialect, days),
    ).subquery()
    modules = union_all(
        *(
            select(literal(m).label("module"), literal(mask, BigInteger).label("days"))
            for m, mask in enabled.items()
        ),
        select(literal("").label("module"), literal(0, BigInteger).label("days")),
    ).subquery()
    on = func.coalesce(modules.c.days, literal(0, BigInteger))
    masked = (
        select(
            rows.c.module,
            rows.c.metric,
            rows.c.status,
            case((rows.c.service_codes == "", 0), else_=1).label("has_service"),
            rows.c.quantity,
            *(rows.c[day_column(d + 1)] for d in range(days)),
            on.label("enabled"),
            on.op("&")(func.coalesce(covers.c.days, 0)).label("covered"),
        )
        .select_from(rows)
        .outerjoin(modules, modules.c.module == rows.c.module)
        .outerjoin(
            covers,
            and_(
                covers.c.company_id == rows.c.company_id,
                covers.c.service_code == rows.c.service_codes,
            ),
        )
        .subquery()
    )
    per_row = select(
        masked.c.module,
        masked.c.metric,
        masked.c.status,
        masked.c.has_service,
        masked.c.quantity,
        _within(masked.c.enabled, full, days, masked).label("enabled"),
        _within(masked.c.covered, full, days, masked).label("covered"),
    ).subquery()
    keys = (per_row.c.module, per_row.c.metric, per_row.c.status, per_row.c.has_service)
    return select(
        *keys,
        func.sum(per_row.c.quantity),
        func.sum(per_row.c.enabled),
        func.sum(per_row.c.covered),
    ).group_by(*keys)


def _exact(value: Any) -> Decimal:
    """A sum to the quantities' 4 digits: SQLite sums them as floating point."""
    return Decimal(value).quantize(QUANTUM)


async def _billed_from(session: AsyncSession, tenant_id: str) -> dict[str, date | None]:
    """Per module the first day its billing is on (None: off)."""
    rows = await session.execute(
        select(_m.module, _m.enabled, _m.effective_from).where(_m.tenant_id == tenant_id)
    )
    return {module: since if enabled else None for module, enabled, since in rows}


async def usage_shares(session: AsyncSession, tenant_id: str, start: date, end: date) -> Usage:
    if dialect_of(session) == "postgresql":
        # Compiling the per-day sums just in time takes seconds; evaluating them, a fraction.
        await session.execute(text("SET LOCAL jit = off"))
    days = (end - start).days + 1
    enabled = _enabled_days(await _billed_from(session, tenant_id), start, days)
    out: Usage = defaultdict(lambda: defaultdict(Decimal))
    query = _aggregate(tenant_id, start, end, dialect_of(session), enabled)
    for module, metric, status, has_service, total, on, covered in await session.execute(query):
        by_share = out[(module, metric)]
        total, on, covered = (_exact(v) for v in (total, on, covered))
        parts = (
            (False, bool(has_service), False, total - on),
            (True, bool(has_service), True, covered),
            (True, bool(has_service), False, on - covered),
        )
        for billing_enabled, service, in_force, quantity in parts:
            if quantity:
                share = classify(
                    billing_enabled=billing_enabled,
                    status=status,
                    has_service=service,
                    covered=in_force,
                )
                by_share[share] += quantity
    return {metric: dict(by_share) for metric, by_share in out.items()}
