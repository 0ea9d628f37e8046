"""The tenant's seller profile: what its invoices print as the seller, and payment terms."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.deps import Caller, Defaults, Runtime
from services.invoicing.documents.parties import Seller
from services.invoicing.documents.seller_profile import save_seller_profile, seller_profile
from shared.changes import changed

router = APIRouter(prefix="/v1", tags=["invoices"])


class SellerProfile(BaseModel):
    """Posted invoices keep the profile they were posted with."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=300)
    address: str = Field(default="", max_length=1000)
    tax_id: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=300)
    payment_terms_days: int = Field(default=14, ge=0, le=365)
    footer: str = Field(default="", max_length=1000)


class SellerProfileOut(SellerProfile):
    name: str = Field(max_length=300, description="empty until the tenant sets a profile")


@router.get("/seller-profile", response_model=SellerProfileOut)
async def get_seller_profile(ctx: Caller, runtime: Runtime, defaults: Defaults) -> SellerProfileOut:
    async with runtime.sessions() as session:
        seller = await seller_profile(session, ctx.tenant_id, defaults)
    return SellerProfileOut.model_construct(**asdict(seller))


@router.put("/seller-profile", response_model=SellerProfile)
async def put_seller_profile(
    body: SellerProfile, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> SellerProfile:
    async with runtime.transaction() as session:
        before = asdict(await seller_profile(session, ctx.tenant_id, defaults))
        seller = await save_seller_profile(session, ctx.tenant_id, Seller(**body.model_dump()))
    after = asdict(seller)
    changed("seller-profile", None, "seller_profile.update", before, after)
    return SellerProfile.model_construct(**after)
