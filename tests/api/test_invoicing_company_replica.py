"""Invoicing's replica of companies is written by the ``company.changed`` consumer and by a
contract's read-through; both may write the same new company at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from services.invoicing.contracts.companies import upsert_company
from services.invoicing.models import CompanyRow
from shared.events import CompanyData

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi


async def test_two_writers_of_the_same_new_company_both_succeed(
    embedded_api: EmbeddedApi,
) -> None:
    invoicing = embedded_api.system.invoicing
    tenant_id = embedded_api.tenant_id

    async def write(data: CompanyData) -> None:
        async with invoicing.transaction() as session:
            await upsert_company(session, tenant_id, data)

    ids = [str(uuid.uuid4()) for _ in range(5)]
    for company_id in ids:
        await asyncio.gather(
            write(CompanyData(id=company_id, name="Same", tax_rate=Decimal("0.19"))),
            write(CompanyData(id=company_id, name="Same", tax_rate=Decimal("0.19"))),
        )
    async with invoicing.sessions() as session:
        rows = [await session.get(CompanyRow, company_id) for company_id in ids]
    assert [(r.tenant_id, r.name, r.tax_rate) for r in rows if r is not None] == [
        (tenant_id, "Same", Decimal("0.19"))
    ] * len(ids)
