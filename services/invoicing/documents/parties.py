"""Who an invoice is from and to: the tenant's seller profile and the customer company.

Drafts show the current seller profile and the company as the replica knows it; posting
freezes both into the invoice (``parties``), so a posted document renders the same forever.
Without a profile the seller is ``ICB_SELLER_NAME`` with ``ICB_PAYMENT_TERMS_DAYS``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import CompanyRow, InvoiceRow, SellerProfileRow


@dataclass(frozen=True)
class SellerDefaults:
    """The seller of a tenant without a profile (``ICB_SELLER_NAME``,
    ``ICB_PAYMENT_TERMS_DAYS``)."""

    name: str
    payment_terms_days: int


@dataclass(frozen=True)
class Seller:
    name: str
    address: str = ""
    tax_id: str | None = None
    email: str | None = None
    payment_terms_days: int = 14
    footer: str = ""
    payment_details: str = ""
    """Bank account or payment link; absent from invoices posted before it existed."""


@dataclass(frozen=True)
class Customer:
    company_id: str
    name: str
    external_ref: str | None = None


@dataclass(frozen=True)
class Parties:
    seller: Seller
    customer: Customer

    def stored(self) -> dict[str, Any]:
        """As the ``parties`` column keeps it."""
        return {"seller": asdict(self.seller), "customer": asdict(self.customer)}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Parties:
        return cls(Seller(**data["seller"]), Customer(**data["customer"]))


def seller_of(row: SellerProfileRow | None, defaults: SellerDefaults) -> Seller:
    if row is None:
        return Seller(defaults.name, payment_terms_days=defaults.payment_terms_days)
    return Seller(
        row.name,
        row.address,
        row.tax_id,
        row.email,
        row.payment_terms_days,
        row.footer,
        row.payment_details,
    )


async def current_seller(session: AsyncSession, tenant_id: str, defaults: SellerDefaults) -> Seller:
    return seller_of(await session.get(SellerProfileRow, tenant_id), defaults)


def customer_of(company_id: str, row: CompanyRow | None) -> Customer:
    if row is None:  # the company.changed event has not arrived yet
        return Customer(company_id, "")
    return Customer(company_id, row.name, row.external_ref)


async def parties_of(
    session: AsyncSession, invoice: InvoiceRow, defaults: SellerDefaults
) -> Parties:
    """Frozen at posting, else current."""
    if invoice.parties is not None:
        return Parties.from_stored(invoice.parties)
    company = await session.get(CompanyRow, invoice.company_id)
    return Parties(
        await current_seller(session, invoice.tenant_id, defaults),
        customer_of(invoice.company_id, company),
    )
