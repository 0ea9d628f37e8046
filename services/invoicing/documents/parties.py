"""Who an invoice is from and to: the tenant's seller profile and the customer company.

Drafts show the current seller profile and the company as the replica knows it; posting
freezes both into the invoice (``parties``), so a posted document renders the same forever.
Without a profile the seller is ``ICB_SELLER_NAME`` with ``ICB_PAYMENT_TERMS_DAYS``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.models import CompanyRow, InvoiceRow, SellerProfileRow
from services.invoicing.settings import InvoicingSettings


@dataclass(frozen=True)
class Seller:
    name: str
    address: str = ""
    tax_id: str | None = None
    email: str | None = None
    payment_terms_days: int = 14
    footer: str = ""


@dataclass(frozen=True)
class Customer:
    company_id: str
    name: str
    external_ref: str | None = None


@dataclass(frozen=True)
class Parties:
    seller: Seller
    customer: Customer

    def to_json(self) -> str:
        return json.dumps({"seller": asdict(self.seller), "customer": asdict(self.customer)})

    @classmethod
    def from_json(cls, text: str) -> Parties:
        data = json.loads(text)
        return cls(Seller(**data["seller"]), Customer(**data["customer"]))


def seller_of(row: SellerProfileRow | None, settings: InvoicingSettings) -> Seller:
    if row is None:
        return Seller(settings.seller_name, payment_terms_days=settings.payment_terms_days)
    return Seller(row.name, row.address, row.tax_id, row.email, row.payment_terms_days, row.footer)


async def current_seller(
    session: AsyncSession, tenant_id: str, settings: InvoicingSettings
) -> Seller:
    return seller_of(await session.get(SellerProfileRow, tenant_id), settings)


def customer_of(company_id: str, row: CompanyRow | None) -> Customer:
    if row is None:  # the company.changed event has not arrived yet
        return Customer(company_id, "")
    return Customer(company_id, row.name, row.external_ref)


async def parties_of(
    session: AsyncSession, invoice: InvoiceRow, settings: InvoicingSettings
) -> Parties:
    """Frozen at posting, else current."""
    if invoice.parties is not None:
        return Parties.from_json(invoice.parties)
    company = await session.get(CompanyRow, invoice.company_id)
    return Parties(
        await current_seller(session, invoice.tenant_id, settings),
        customer_of(invoice.company_id, company),
    )
