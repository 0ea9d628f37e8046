"""Mapping's replica of invoicing's contracts, kept from ``contract.changed`` for the
``usage_without_contract`` insight: which company is covered for which service codes when."""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.insights.rules import ContractCover
from services.mapping.models import ContractReplicaRow
from shared.db import chunks, dialect_of, insert
from shared.events import ContractChanged, Event

_contracts = cast(Table, ContractReplicaRow.__table__)
COMPANY_CHUNK = 500
_KEPT = ("company_id", "start_date", "end_date", "service_codes", "updated_at")


async def keep_contract(session: AsyncSession, tenant_id: str, event: Event) -> None:
    """Stores the contract's state unless a newer one is stored already: two writes that
    commit close together can leave invoicing's outbox in the other order."""
    assert isinstance(event, ContractChanged)
    stmt = insert(_contracts, dialect_of(session)).values(
        tenant_id=tenant_id,
        id=event.contract_id,
        company_id=event.company_id,
        start_date=event.start_date,
        end_date=event.end_date,
        service_codes=sorted(set(event.service_codes)),
        updated_at=event.updated_at,
    )
    new = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "id"],
            set_={name: new[name] for name in _KEPT},
            where=_contracts.c.updated_at <= new.updated_at,
        )
    )


async def contract_covers(
    session: AsyncSession, tenant_id: str, company_ids: Collection[str] | None = None
) -> list[ContractCover]:
    """The tenant's contracts, or those of ``company_ids`` only: a tenant may have thousands
    of contracts and few companies whose usage is in question."""
    query = select(
        ContractReplicaRow.company_id,
        ContractReplicaRow.start_date,
        ContractReplicaRow.end_date,
        ContractReplicaRow.service_codes,
    ).where(ContractReplicaRow.tenant_id == tenant_id)
    parts = [None] if company_ids is None else chunks(sorted(company_ids), COMPANY_CHUNK)
    covers: list[ContractCover] = []
    for part in parts:
        narrowed = query if part is None else query.where(ContractReplicaRow.company_id.in_(part))
        covers.extend(
            ContractCover(company_id, start, end, frozenset(codes))
            for company_id, start, end, codes in await session.execute(narrowed)
        )
    return covers
