"""The tenant's seller profile: what its invoices print as the seller, and payment terms.
Posted invoices keep the profile they were posted with (:mod:`.parties`)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.parties import Seller, SellerDefaults, current_seller
from services.invoicing.models import SellerProfileRow
from shared.clock import Clock, utc_now


async def seller_profile(session: AsyncSession, tenant_id: str, defaults: SellerDefaults) -> Seller:
    """The profile, or the defaults (with an empty name unless configured) before one is set."""
    return await current_seller(session, tenant_id, defaults)


async def save_seller_profile(
    session: AsyncSession, tenant_id: str, seller: Seller, clock: Clock = utc_now
) -> Seller:
    row = await session.get(SellerProfileRow, tenant_id)
    if row is None:
        row = SellerProfileRow(tenant_id=tenant_id)
        session.add(row)
    for name, value in asdict(seller).items():
        setattr(row, name, value)
    row.updated_at = clock()
    return seller
