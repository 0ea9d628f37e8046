"""What a billing run reads, set-based: contracts, tax rates, module billing, reported days,
and the unit table's month aggregated per company in one streamed query."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    String,
    Text,
    cast,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.invoicing.billing import (
    Contract,
    ContractVersion,
    ServiceTerms,
    parse_period,
)
from services.invoicing.contracts.terms import Pricings
from services.invoicing.models import (
    SCHEMA,
    CompanyRow,
    ContractRow,
    ContractServiceRow,
    ModuleBillingRow,
    UnitRow,
)
from services.invoicing.runs.compute import Terms, UsageRows, usage_start
from services.invoicing.units.service import NO_SERVICE
from shared.db import dialect_of
from shared.read_ahead import read_ahead

STREAM_ROWS = 5000
AGGREGATE_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")
"""PostgreSQL, for the month's aggregate: compiling it (JIT) costs more than it saves, and a
larger sort memory keeps its sort off the disk."""
_u = UnitRow.__table__.c


def _active(tenant_id: str, start: date, end: date) -> tuple[ColumnElement[bool], ...]:
    c = ContractRow.__table__.c
    return (
        c.tenant_id == tenant_id,
        c.start_date <= end,
        or_(c.end_date.is_(None), c.end_date >= start),
    )


class _Services:
    """Contracts of one plan share their services: one object each, made (its tiers parsed)
    once per distinct stored service, and sent to the billing workers once."""

    def __init__(self) -> None:
        self._pricings = Pricings()
        self._made: dict[tuple[Any, ...], ServiceTerms] = {}
        self._lists: dict[str, list[ServiceTerms]] = {}

    def of(self, stored: tuple[Any, ...]) -> ServiceTerms:
        """``stored``: code, name, model, unit price, tiers (JSON text), counting basis,
        minimum units."""
        service = self._made.get(stored)
        if service is None:
            code, name, model, price, tiers, basis, minimum = stored
            pricing = self._pricings(model, price, json.loads(tiers) if tiers else [])
            service = self._made[stored] = ServiceTerms(code, name, pricing, basis, minimum)
        return service

    def listed(self, text: str) -> list[ServiceTerms]:
        """The services of a JSON list of stored services (decimals as strings), each list
        parsed once: the contract versions of one plan list the same."""
        found = self._lists.get(text)
        if found is None:
            found = self._lists[text] = [
                self.of((code, name, model, _decimal(price), tiers, basis, _decimal(minimum)))
                for code, name, model, price, tiers, basis, minimum in json.loads(text)
            ]
        return found


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


async def _services(
    session: AsyncSession, tenant_id: str, start: date, end: date
) -> dict[str, dict[date | None, list[ServiceTerms]]]:
    """contract_id -> version (its first day, None: the first) -> its services in order."""
    c, s = ContractRow.__table__.c, ContractServiceRow.__table__.c
    stored = [
        s.service_code,
        s.name,
        s.pricing_model,
        s.unit_price,
        cast(s.tiers, Text),
        s.counting_basis,
        s.minimum_units,
    ]
    postgresql = dialect_of(session) == "postgresql"
    if postgresql:
        # A large tenant has hundreds of thousands of services: PostgreSQL lists each
        # contract version's as one JSON text (decimals with their stored digits), and the
        # versions of one plan, equal texts, are parsed once.
        decimals = (s.unit_price, s.minimum_units)
        as_text = [cast(v, Text) if v in decimals else v for v in stored]
        listed = func.json_agg(aggregate_order_by(func.json_build_array(*as_text), s.position))
        query = (
            select(s.contract_id, s.effective_from, cast(listed, Text))
            .group_by(s.contract_id, s.effective_from)
            .order_by(s.contract_id, s.effective_from)
        )
    else:
        query = select(s.contract_id, s.effective_from, *stored).order_by(
            s.contract_id, s.effective_from, s.position
        )
    query = query.join(ContractRow.__table__, c.id == s.contract_id).where(
        *_active(tenant_id, start, end)
    )
    terms: dict[str, dict[date | None, list[ServiceTerms]]] = defaultdict(dict)
    made = _Services()
    # Streamed: held at once, a large tenant's services would raise the run's peak memory.
    result = await session.stream(query.execution_options(yield_per=STREAM_ROWS))
    async for part in result.partitions():
        for contract_id, since, *values in part:
            if postgresql:
                terms[contract_id][since] = made.listed(values[0])
            else:
                terms[contract_id].setdefault(since, []).append(made.of(tuple(values)))
    return terms


async def _contracts(
    session: AsyncSession, tenant_id: str, start: date, end: date
) -> dict[str, list[Contract]]:
    c = ContractRow.__table__.c
    terms = await _services(session, tenant_id, start, end)
    by_company: dict[str, list[Contract]] = defaultdict(list)
    contracts = select(c.id, c.company_id, c.name, c.currency, c.start_date, c.end_date).where(
        *_active(tenant_id, start, end)
    )
    for contract_id, company_id, name, currency, start_date, end_date in await session.execute(
        contracts
    ):
        versions = terms[contract_id]
        by_company[company_id].append(
            Contract(
                contract_id,
                name,
                currency,
                start_date,
                end_date,
                tuple(versions.get(None, ())),
                tuple(
                    ContractVersion(since, tuple(services))
                    for since, services in versions.items()
                    if since is not None
                ),
            )
        )
    return by_company


# PostgreSQL reads the few hundred distinct (day, module) pairs of the month by skipping
# through the (tenant_id, day, module) index, one probe per pair, instead of reading every
# unit row of the month (millions for a large tenant).
_SKIP_SCAN = text(f"""
WITH RECURSIVE seen(day, module) AS (
    (SELECT day, module FROM {SCHEMA}.units
     WHERE tenant_id = :tenant AND day >= :first AND day <= :last
     ORDER BY day, module LIMIT 1)
    UNION ALL
    SELECT next.day, next.module FROM seen, LATERAL (
        SELECT u.day, u.module FROM {SCHEMA}.units u
        WHERE u.tenant_id = :tenant AND (u.day, u.module) > (seen.day, seen.module)
          AND u.day <= :last
        ORDER BY u.day, u.module LIMIT 1) AS next
)
SELECT module, day FROM seen""")


def _reported_days(
    session: AsyncSession, tenant_id: str, first: date, last: date
) -> tuple[Executable, dict[str, Any]]:
    """The (module, day) pairs with any unit row from ``first`` to ``last``."""
    if dialect_of(session) == "postgresql":
        return _SKIP_SCAN, {"tenant": tenant_id, "first": first, "last": last}
    return select(_u.module, _u.day).where(
        _u.tenant_id == tenant_id, _u.day >= first, _u.day <= last
    ).distinct(), {}


async def load_terms(session: AsyncSession, tenant_id: str, period: str) -> Terms:
    start, end = parse_period(period)
    module_days: dict[str, set[date]] = defaultdict(set)
    for module, day in await session.execute(
        *_reported_days(session, tenant_id, usage_start(period), end)
    ):
        module_days[module].add(day)
    m = ModuleBillingRow.__table__.c
    enabled_from = {
        module: since if enabled else None
        for module, enabled, since in await session.execute(
            select(m.module, m.enabled, m.effective_from).where(m.tenant_id == tenant_id)
        )
    }
    co = CompanyRow.__table__.c
    tax_rates = {
        company_id: rate
        for company_id, rate in await session.execute(
            select(co.id, co.tax_rate).where(co.tenant_id == tenant_id)
        )
    }
    return Terms(
        period,
        await _contracts(session, tenant_id, start, end),
        tax_rates,
        dict(module_days),
        enabled_from,
    )


# PostgreSQL: per company (in the given order), its month from the index on
# (tenant_id, company_id, day): a short range scan and a small in-memory aggregate each, so the
# first companies stream out at once and a tenant's older history is never read.
_BY_COMPANY = text(f"""
SELECT c.company_id, u.service_code, u.module, u.metric, u.series
FROM unnest(CAST(:companies AS text[])) WITH ORDINALITY AS c(company_id, position)
CROSS JOIN LATERAL (
    SELECT service_code, module, metric,
           string_agg(CAST(day - CAST(:first AS date) AS text) || '=' || CAST(quantity AS text),
                      ',') AS series
    FROM {SCHEMA}.units
    WHERE tenant_id = :tenant AND company_id = c.company_id
      AND day >= :first AND day <= :last
      AND status = 'mapped' AND service_code <> :no_service
    GROUP BY service_code, module, metric
) AS u
ORDER BY c.position""")


def _usage_query(
    session: AsyncSession, tenant_id: str, companies: Sequence[str], first: date, last: date
) -> tuple[Executable, dict[str, Any]]:
    if dialect_of(session) == "postgresql":
        return _BY_COMPANY, {
            "companies": list(companies),
            "tenant": tenant_id,
            "first": first,
            "last": last,
            "no_service": NO_SERVICE,
        }
    # SQLite (embedded, small tenants): the whole month in one aggregate, in company order;
    # companies not asked for are skipped as they stream by.
    offset = cast(func.julianday(_u.day) - func.julianday(first), Integer)
    pair = cast(offset, String) + "=" + cast(_u.quantity, String)
    query = (
        select(_u.company_id, _u.service_code, _u.module, _u.metric, func.group_concat(pair, ","))
        .where(
            _u.tenant_id == tenant_id,
            _u.day >= first,
            _u.day <= last,
            _u.status == "mapped",
            _u.service_code != NO_SERVICE,
        )
        .group_by(_u.company_id, _u.service_code, _u.module, _u.metric)
        .order_by(_u.company_id)
    )
    return query, {}


async def company_usage(
    session: AsyncSession, tenant_id: str, period: str, companies: Sequence[str]
) -> AsyncGenerator[tuple[str, UsageRows], None]:
    """The mapped usage of the period (and the 3 days before it) of each of ``companies``
    that has any, one company at a time, streamed: a row per company, service and source
    whose daily quantities travel as one ``offset=quantity,...`` string (parsed where the
    company is billed: :mod:`services.invoicing.runs.compute`)."""
    query, params = _usage_query(
        session, tenant_id, companies, usage_start(period), parse_period(period)[1]
    )
    wanted = set(companies)
    current: str | None = None
    rows: UsageRows = []
    result = await session.stream(query.execution_options(yield_per=STREAM_ROWS), params)
    async for part in result.partitions(STREAM_ROWS):  # a fetch of STREAM_ROWS rows at a time
        for company_id, code, module, metric, series in part:
            if company_id not in wanted:
                continue
            if company_id != current:
                if current is not None:
                    yield current, rows
                current, rows = company_id, []
            rows.append((code, module, metric, series))
    if current is not None:
        yield current, rows


@contextlib.asynccontextmanager
async def usage_read_ahead(
    session: AsyncSession, tenant_id: str, period: str, companies: Sequence[str], group: int
) -> AsyncIterator[AsyncIterator[tuple[str, UsageRows]]]:
    """:func:`company_usage`, on PostgreSQL read on a connection of its own a few groups of
    ``group`` companies ahead: the database aggregates the next companies while the run
    bills and writes the previous ones on its own connection. (The run writes no usage, so
    the other connection reads what the run's would.) SQLite reads on the run's session."""
    bind = session.bind
    if dialect_of(session) != "postgresql" or not isinstance(bind, AsyncEngine):
        yield company_usage(session, tenant_id, period, companies)
        return
    async with AsyncSession(bind) as reader:
        for setting in AGGREGATE_SETTINGS:
            await reader.execute(text(setting))
        source = company_usage(reader, tenant_id, period, companies)
        async with read_ahead(source, group) as usage:
            yield usage
