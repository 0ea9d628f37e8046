"""Contract use cases: create, amend, change, list and read the recurring service contracts
a company's usage is billed against.

Service terms change only through versions (PRODUCT.md section 10): the contract's first
version is in force from its ``start_date``, each amendment from its ``effective_from`` (an
amendment on the date of an existing version replaces it). Every write publishes
``contract.changed`` through the outbox in its transaction (mapping keeps a replica; its
``service_codes`` are those of every version, so the event keeps its shape); changes reach
drafts at the next billing run, posted invoices get corrections.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.invoicing.billing import (
    CountingBasis,
    Pricing,
    PricingModel,
    Tier,
    pricing_errors,
)
from services.invoicing.contracts.companies import ensure_company
from services.invoicing.contracts.terms import stored_tiers
from services.invoicing.models import ContractRow, ContractServiceRow
from services.invoicing.pages import RowPage, rows_page
from shared.clock import Clock, utc_now
from shared.context import CallerContext
from shared.events import ContractChanged
from shared.money import UnknownCurrency, minor_units
from shared.outbox import Outbox
from shared.pagination import PageParams
from shared.problems import NotFound, ValidationFailed
from shared.service_client import ServiceClient


@dataclass(frozen=True)
class ServiceSpec:
    """A priced service as the caller describes it (``unit_price`` is required for
    ``per_unit`` pricing only)."""

    service_code: str
    name: str
    unit_price: Decimal | None
    counting_basis: CountingBasis
    pricing_model: PricingModel
    tiers: tuple[Tier, ...]
    minimum_units: Decimal


@dataclass(frozen=True)
class NewContract:
    company_id: str
    name: str
    start_date: date
    end_date: date | None
    currency: str
    services: tuple[ServiceSpec, ...]


@dataclass(frozen=True)
class ContractChanges:
    """What a patch sets; ``None`` leaves a field as it is, except ``end_date`` when
    ``sets_end_date`` (None then means open-ended). Service terms change by amendment."""

    name: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    sets_end_date: bool = False


@dataclass(frozen=True)
class Amendment:
    """New service terms from ``effective_from`` on."""

    effective_from: date
    services: tuple[ServiceSpec, ...]


@dataclass(frozen=True)
class Version:
    """Service terms in force from ``effective_from`` until the next version."""

    effective_from: date
    services: tuple[ContractServiceRow, ...]


def versions(row: ContractRow) -> list[Version]:
    """The contract's versions, oldest first; the first one's date is ``start_date``."""
    by_date: dict[date | None, list[ContractServiceRow]] = {}
    for s in row.services:
        by_date.setdefault(s.effective_from, []).append(s)
    out = [Version(row.start_date, tuple(sorted(by_date.pop(None, []), key=_position)))]
    out += [
        Version(since, tuple(sorted(services, key=_position)))
        for since, services in sorted(by_date.items(), key=lambda item: item[0] or row.start_date)
        if since is not None
    ]
    return out


def in_force(all_versions: Sequence[Version], day: date) -> Version:
    """The version in force on ``day`` (the first one before the contract starts)."""
    current = all_versions[0]
    for version in all_versions[1:]:
        if version.effective_from <= day:
            current = version
    return current


def _position(s: ContractServiceRow) -> int:
    return s.position


def _service_rows(
    services: tuple[ServiceSpec, ...], effective_from: date | None = None
) -> list[ContractServiceRow]:
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    rows = []
    for i, s in enumerate(services):
        loc: list[str | int] = ["body", "services", i]
        if s.service_code in seen:
            errors.append({"loc": [*loc, "service_code"], "msg": "appears twice in the contract"})
        seen.add(s.service_code)
        if s.pricing_model == "per_unit" and s.unit_price is None:
            errors.append({"loc": [*loc, "unit_price"], "msg": "required for per_unit pricing"})
        pricing = Pricing(s.pricing_model, s.unit_price or Decimal(0), s.tiers)
        errors.extend(
            {"loc": _pricing_loc(loc, where), "msg": msg} for where, msg in pricing_errors(pricing)
        )
        rows.append(
            ContractServiceRow(
                id=str(uuid.uuid4()),
                position=i,
                service_code=s.service_code,
                name=s.name,
                unit_price=pricing.unit_price,
                counting_basis=s.counting_basis,
                pricing_model=s.pricing_model,
                tiers=stored_tiers(s.tiers),
                minimum_units=s.minimum_units,
                effective_from=effective_from,
            )
        )
    if errors:
        raise ValidationFailed(
            "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5]),
            errors=errors,
        )
    return rows


def _pricing_loc(service: list[str | int], where: str) -> list[str | int]:
    """``tiers.1.up_to`` of the pricing as a request location; the price is the service's."""
    parts = [int(part) if part.isdigit() else part for part in where.split(".")]
    return [*service, *parts] if parts[0] == "unit_price" else [*service, "pricing", *parts]


def _check_dates(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed(
            "end_date is before start_date.",
            errors=[{"loc": ["body", "end_date"], "msg": "must not be before start_date"}],
        )


def _check_currency(code: str) -> None:
    try:
        minor_units(code)
    except UnknownCurrency as exc:
        raise ValidationFailed(
            f"Unknown currency {code!r}.",
            errors=[{"loc": ["body", "currency"], "msg": "not an ISO 4217 currency code"}],
        ) from exc


async def _load(
    session: AsyncSession,
    tenant_id: str,
    contract_id: str,
    *,
    for_update: bool = False,
    reread: bool = False,
) -> ContractRow:
    """With its services; ``reread``: as the database now has it (after a write, so that
    a write answers exactly what a later read shows)."""
    query = (
        select(ContractRow)
        .options(selectinload(ContractRow.services))
        .where(ContractRow.id == contract_id, ContractRow.tenant_id == tenant_id)
    )
    if for_update:
        query = query.with_for_update()
    if reread:
        query = query.execution_options(populate_existing=True)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No contract {contract_id}.")
    return row


async def _publish_changed(
    outbox: Outbox, session: AsyncSession, tenant_id: str, row: ContractRow
) -> None:
    """``contract.changed`` in the transaction of the write (mapping keeps a replica)."""
    await outbox.add(
        session,
        tenant_id,
        ContractChanged(
            contract_id=row.id,
            company_id=row.company_id,
            start_date=row.start_date,
            end_date=row.end_date,
            service_codes=tuple(dict.fromkeys(s.service_code for s in row.services)),
            updated_at=row.updated_at,
        ),
    )


async def create_contract(
    session: AsyncSession,
    outbox: Outbox,
    mapping: ServiceClient | None,
    ctx: CallerContext,
    new: NewContract,
    clock: Clock = utc_now,
) -> ContractRow:
    """For a company of the caller's tenant (looked up in mapping when the replica does not
    know it yet)."""
    _check_currency(new.currency)
    _check_dates(new.start_date, new.end_date)
    services = _service_rows(new.services)
    now = clock()
    await ensure_company(session, mapping, ctx, new.company_id)
    row = ContractRow(
        id=str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        company_id=new.company_id,
        name=new.name,
        start_date=new.start_date,
        end_date=new.end_date,
        currency=new.currency,
        created_at=now,
        updated_at=now,
        services=services,
    )
    session.add(row)
    await _publish_changed(outbox, session, ctx.tenant_id, row)
    await session.flush()
    return await _load(session, ctx.tenant_id, row.id, reread=True)


async def change_contract(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    contract_id: str,
    changes: ContractChanges,
    clock: Clock = utc_now,
) -> ContractRow:
    # Locked: concurrent changes of one contract commit in the order of their
    # ``updated_at``, which replicas of ``contract.changed`` rely on.
    row = await _load(session, tenant_id, contract_id, for_update=True)
    start = changes.start_date or row.start_date
    end = changes.end_date if changes.sets_end_date else row.end_date
    _check_dates(start, end)
    amended = versions(row)[1:]
    if amended and start >= amended[0].effective_from:
        raise ValidationFailed(
            f"start_date must be before the first amendment ({amended[0].effective_from}).",
            errors=[
                {
                    "loc": ["body", "start_date"],
                    "msg": f"must be before the first amendment's effective_from "
                    f"{amended[0].effective_from}",
                }
            ],
        )
    if changes.name is not None:
        row.name = changes.name
    row.start_date, row.end_date = start, end
    row.updated_at = clock()
    await _publish_changed(outbox, session, tenant_id, row)
    await session.flush()
    return await _load(session, tenant_id, contract_id, reread=True)


async def amend_contract(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    contract_id: str,
    amendment: Amendment,
    clock: Clock = utc_now,
) -> ContractRow:
    """New service terms from ``effective_from`` (within the contract's dates) on; on the
    date of an existing version (the start date: the first) they replace that version's."""
    row = await _load(session, tenant_id, contract_id, for_update=True)
    since = amendment.effective_from
    if since < row.start_date or (row.end_date is not None and since > row.end_date):
        until = "" if row.end_date is None else f" to {row.end_date}"
        raise ValidationFailed(
            f"effective_from {since} lies outside the contract's dates ({row.start_date}{until}).",
            errors=[
                {
                    "loc": ["body", "effective_from"],
                    "msg": f"must lie within the contract's dates ({row.start_date}{until})",
                }
            ],
        )
    version = None if since == row.start_date else since
    services = _service_rows(amendment.services, version)
    row.services = [s for s in row.services if s.effective_from != version] + services
    row.updated_at = clock()
    await _publish_changed(outbox, session, tenant_id, row)
    await session.flush()
    return await _load(session, tenant_id, contract_id, reread=True)


async def list_contracts(
    session: AsyncSession, tenant_id: str, company_id: str | None, paging: PageParams
) -> RowPage[ContractRow]:
    query = (
        select(ContractRow)
        .options(selectinload(ContractRow.services))
        .where(ContractRow.tenant_id == tenant_id)
    )
    if company_id:
        query = query.where(ContractRow.company_id == company_id)
    return await rows_page(session, query, ContractRow.id, paging)


async def get_contract(session: AsyncSession, tenant_id: str, contract_id: str) -> ContractRow:
    return await _load(session, tenant_id, contract_id)
