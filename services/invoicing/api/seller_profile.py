"""The tenant's seller profile: what its invoices print as the seller, and payment terms."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from services.invoicing.api.deps import Caller, Defaults, Runtime
from services.invoicing.documents.parties import Seller
from services.invoicing.documents.seller_profile import save_seller_profile, seller_profile
from shared.changes import changed
from shared.openapi_docs import ApiModel, examples

router = APIRouter(prefix="/v1", tags=["invoices"])


class SellerProfile(ApiModel):
    """Posted invoices keep the profile they were posted with."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {
                "name": "Northwind IT Services GmbH",
                "address": "Hauptstrasse 1\n10115 Berlin\nGermany",
                "tax_id": "DE123456789",
                "email": "billing@northwind.example",
                "payment_terms_days": 14,
                "footer": "Bank: DE89 3704 0044 0532 0130 00",
            }
        ),
    )
    name: str = Field(min_length=1, max_length=300)
    """The seller's name, as invoices print it."""
    address: str = Field(default="", max_length=1000)
    """The seller's postal address, lines separated by newlines."""
    tax_id: str | None = Field(default=None, max_length=100)
    """The seller's tax or VAT id."""
    email: str | None = Field(default=None, max_length=300)
    """Where customers write about invoices."""
    payment_terms_days: int = Field(default=14, ge=0, le=365)
    """Days from the invoice date to the due date."""
    footer: str = Field(default="", max_length=1000)
    """Text printed at the foot of every invoice (legal notes)."""
    payment_details: str = Field(default="", max_length=1000)
    """How to pay, printed in the seller block: bank, IBAN, BIC, or a payment link."""


class SellerProfileOut(SellerProfile):
    name: str = Field(
        max_length=300,
        description="The seller's name, as invoices print it; empty until the tenant sets a "
        "profile (or ICB_SELLER_NAME gives one).",
    )


@router.get("/seller-profile", response_model=SellerProfileOut, summary="Show the seller profile")
async def get_seller_profile(ctx: Caller, runtime: Runtime, defaults: Defaults) -> SellerProfileOut:
    """What the tenant's invoices print as the seller, and its payment terms; before the
    tenant sets a profile, the service's defaults."""
    async with runtime.sessions() as session:
        seller = await seller_profile(session, ctx.tenant_id, defaults)
    return SellerProfileOut.model_construct(**asdict(seller))


@router.put("/seller-profile", response_model=SellerProfile, summary="Set the seller profile")
async def put_seller_profile(
    body: SellerProfile, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> SellerProfile:
    """Replaces the whole profile; invoices posted from now on print it, those posted
    already keep theirs."""
    async with runtime.transaction() as session:
        before = asdict(await seller_profile(session, ctx.tenant_id, defaults))
        seller = await save_seller_profile(session, ctx.tenant_id, Seller(**body.model_dump()))
    after = asdict(seller)
    changed("seller-profile", None, "seller_profile.update", before, after)
    return SellerProfile.model_construct(**after)
