"""The reconciliation reads the unit table summed per month (``usage_months``); after any
sequence of written batches (new usage, corrections, re-resolutions to another status,
company or set of services, stale versions that must change nothing, several writes of one
key in a batch), with any contracts, amendments and module billing states, its sums per
metric and share equal the definition evaluated record by record on the raw unit rows.
On SQLite and on PostgreSQL (each keeps the summary its own way)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.invoicing.assurance.reconciliation import Share, classify
from services.invoicing.assurance.unit_shares import usage_shares
from services.invoicing.contracts.service import in_force, versions
from services.invoicing.models import (
    ContractRow,
    ContractServiceRow,
    ModuleBillingRow,
    UnitRow,
)
from services.invoicing.units.service import apply_resolved
from shared.events import ResolvedUsage

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

START, END = date(2026, 1, 1), date(2026, 1, 31)
MODULES, METRICS, ORGS = ("rmm", "edr"), ("servers", "desktops"), ("o1", "o2", "o3")
COMPANIES, CODES = ("c1", "c2"), ("SRV", "PATCH", "EDR")


def definition(
    units: Iterable[UnitRow],
    states: dict[str, ModuleBillingRow],
    contracts: list[ContractRow],
    start: date,
    end: date,
) -> dict[tuple[str, str], dict[Share, Decimal]]:
    """Each record of the period (its rows: one per service it feeds) under its first
    reason, or billed when a service it feeds is in the version of a contract of its
    company in force that day; summed per metric."""
    records: dict[tuple[Any, ...], list[UnitRow]] = defaultdict(list)
    for row in units:
        if start <= row.day <= end:
            records[(row.module, row.org_id, row.metric, row.day)].append(row)
    sums: dict[tuple[str, str], dict[Share, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (module, _, metric, on), rows in records.items():
        state = states.get(module)
        codes = {r.service_code for r in rows} - {""}
        carried = {
            s.service_code
            for c in contracts
            if c.company_id == rows[0].company_id
            and c.start_date <= on
            and (c.end_date is None or on <= c.end_date)
            for s in in_force(versions(c), on).services
        }
        share = classify(
            billing_enabled=state is not None
            and state.enabled
            and state.effective_from is not None
            and state.effective_from <= on,
            status=rows[0].status,
            has_service=bool(codes),
            covered=bool(codes & carried),
        )
        sums[(module, metric)][share] += rows[0].quantity
    return sums


async def raw_rows(
    session: Any, tenant: str
) -> tuple[list[UnitRow], dict[str, ModuleBillingRow], list[ContractRow]]:
    units = list(await session.scalars(select(UnitRow).where(UnitRow.tenant_id == tenant)))
    states = {
        s.module: s
        for s in await session.scalars(
            select(ModuleBillingRow).where(ModuleBillingRow.tenant_id == tenant)
        )
    }
    contracts = list(
        await session.scalars(
            select(ContractRow)
            .where(ContractRow.tenant_id == tenant)
            .options(selectinload(ContractRow.services))
        )
    )
    return units, states, contracts


def _nonzero(
    sums: dict[tuple[str, str], dict[Share, Decimal]],
) -> dict[tuple[str, str], dict[Share, Decimal]]:
    return {metric: {s: q for s, q in parts.items() if q} for metric, parts in sums.items()}


days = st.integers(-2, 32).map(lambda d: START + timedelta(days=d))
"""The period and a few days on either side (other months' summaries)."""
quantities = st.decimals(0, 500, places=4, allow_nan=False, allow_infinity=False)
resolutions = st.one_of(
    st.tuples(st.just("unmapped"), st.none(), st.just(())),
    st.tuples(st.just("excluded"), st.sampled_from((None, *COMPANIES)), st.just(())),
    st.tuples(
        st.just("mapped"),
        st.sampled_from(COMPANIES),
        st.lists(st.sampled_from(CODES), max_size=3, unique=True).map(tuple),
    ),
)
writes = st.tuples(
    st.sampled_from(MODULES),
    st.sampled_from(ORGS),
    st.sampled_from(METRICS),
    days,
    resolutions,
    quantities,
    st.integers(-1, 2),
)
"""A record and how its version relates to the key's latest: -1 stale (ignored), 0 the
same (ignored), 1 or 2 newer."""
batches = st.lists(st.lists(writes, min_size=1, max_size=12), min_size=1, max_size=6)
contracts = st.lists(
    st.tuples(
        st.sampled_from(COMPANIES),
        st.integers(-5, 35),
        st.one_of(st.none(), st.integers(0, 40)),
        st.lists(
            st.tuples(
                st.integers(0, 31),
                st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True),
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    max_size=4,
)
"""Per contract: its company, start and length in days (None: open), and its versions as
(days after the start, service codes); the first is the initial version."""
billing_states = st.dictionaries(
    st.sampled_from(MODULES), st.tuples(st.booleans(), st.integers(-3, 33)), max_size=2
)


def _records(tenant_versions: dict[tuple[Any, ...], int], batch: list[Any]) -> list[ResolvedUsage]:
    out = []
    for module, org, metric, on, (status, company, codes), quantity, step in batch:
        key = (module, org, metric, on)
        latest = tenant_versions.get(key, 0)
        version = 1 if latest == 0 else max(1, latest + step)
        tenant_versions[key] = max(latest, version)
        out.append(
            ResolvedUsage(
                module=module,
                org_id=org,
                org_name=org,
                metric=metric,
                date=on,
                quantity=quantity,
                status=status,
                company_id=company,
                service_codes=codes,
                version=version,
            )
        )
    return out


def _contract_rows(tenant: str, drawn: list[Any]) -> list[ContractRow]:
    now = datetime.now(UTC)
    rows = []
    for company, start, length, drawn_versions in drawn:
        first = START + timedelta(days=start)
        contract = ContractRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            company_id=company,
            name="Managed services",
            start_date=first,
            end_date=None if length is None else first + timedelta(days=length),
            currency="EUR",
            created_at=now,
            updated_at=now,
        )
        since: dict[date | None, list[str]] = {}
        for i, (after, codes) in enumerate(drawn_versions):
            since.setdefault(None if i == 0 else first + timedelta(days=after + 1), codes)
        contract.services = [
            ContractServiceRow(
                id=str(uuid.uuid4()),
                position=position,
                service_code=code,
                name=code,
                unit_price=Decimal(1),
                counting_basis="daily",
                pricing_model="per_unit",
                tiers=[],
                minimum_units=Decimal(0),
                effective_from=effective,
            )
            for effective, codes in since.items()
            for position, code in enumerate(codes)
        ]
        rows.append(contract)
    return rows


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=batches, drawn_contracts=contracts, states=billing_states)
async def test_the_summary_equals_the_unit_rows_after_any_writes(
    embedded_api: EmbeddedApi,
    batches: list[list[Any]],
    drawn_contracts: list[Any],
    states: dict[str, tuple[bool, int]],
) -> None:
    tenant = str(uuid.uuid4())
    sessions = embedded_api.system.invoicing.sessions
    known: dict[tuple[Any, ...], int] = {}
    for batch in batches:
        async with sessions() as session, session.begin():
            await apply_resolved(session, tenant, _records(known, batch))
    async with sessions() as session, session.begin():
        session.add_all(_contract_rows(tenant, drawn_contracts))
        session.add_all(
            ModuleBillingRow(
                tenant_id=tenant,
                module=module,
                enabled=enabled,
                effective_from=START + timedelta(days=since),
            )
            for module, (enabled, since) in states.items()
        )

    async with sessions() as session:
        summed = await usage_shares(session, tenant, START, END)
        units, billing, contract_rows = await raw_rows(session, tenant)

    assert _nonzero(summed) == _nonzero(definition(units, billing, contract_rows, START, END))
