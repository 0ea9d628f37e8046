"""Invoicing's tables (schema ``invoicing``): the unit table, contracts and invoices, and
replicas of the companies and module billing states other services own."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from services.invoicing.billing import CountingBasis, PricingModel
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from shared.db import JsonDocument, service_metadata, str_enum
from shared.events import MappingStatus
from shared.inbox import inbox_table
from shared.outbox import outbox_table
from shared.replicas import ModuleBillingReplica

SCHEMA = "invoicing"
Money = Numeric(20, 4)
Quantity = Numeric(24, 4)
Price = Numeric(20, 6)
LineJson: TypeEngine[Any] = JSON(none_as_null=True)
"""JSON of invoice lines: ``json`` on PostgreSQL, kept as written. Runs write hundreds of
thousands of lines by COPY and nothing queries inside them; building ``jsonb`` would cost the
server several times the COPY itself."""


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class UnitRow(Base):
    """The unit table: one row per usage record and service it feeds (``service_code`` is
    empty while the record feeds none: unmapped org, excluded org or unmapped metric)."""

    __tablename__ = "units"
    __table_args__ = (
        Index("ix_units_tenant_day", "tenant_id", "day", "module"),
        # A billing run reads a company's billed usage of a month from this index alone.
        Index(
            "ix_units_company_day",
            "tenant_id",
            "company_id",
            "day",
            postgresql_include=["service_code", "module", "metric", "quantity"],
            postgresql_where=text("status = 'mapped'"),
            sqlite_where=text("status = 'mapped'"),
        ),
    )
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[MappingStatus] = mapped_column(String(16))
    company_id: Mapped[str | None] = mapped_column(String(36))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    version: Mapped[int]


class CompanyRow(Base):
    """Replica of mapping's companies, kept from ``company.changed`` events."""

    __tablename__ = "companies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(300))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    currency: Mapped[str | None] = mapped_column(String(3))


class ModuleBillingRow(ModuleBillingReplica, Base):
    """Replica of ingest's module billing states, kept from ``module.billing_changed``."""


class ContractRow(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    company_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    services: Mapped[list[ContractServiceRow]] = relationship(
        back_populates="contract",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ContractServiceRow.position",
    )


class ContractServiceRow(Base):
    __tablename__ = "contract_services"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    unit_price: Mapped[Decimal] = mapped_column(Price)
    counting_basis: Mapped[CountingBasis] = mapped_column(String(16))
    pricing_model: Mapped[PricingModel] = mapped_column(String(16))
    tiers: Mapped[list[dict[str, str | None]]] = mapped_column(JsonDocument, default=list)
    """``[{"up_to": "100" or null, "unit_price": "1.50"}, ...]``: decimals as strings."""
    minimum_units: Mapped[Decimal] = mapped_column(Quantity)
    effective_from: Mapped[date | None] = mapped_column(Date)
    """The contract version this service belongs to: NULL for the first (in force from the
    contract's ``start_date``), else the amendment's date (PRODUCT.md section 10)."""
    contract: Mapped[ContractRow] = relationship(back_populates="services", lazy="raise")


class InvoiceRow(Base):
    """An invoice document: ``kind`` ``invoice``, or a correction of a posted invoice
    (``adjustment``, ``credit_note``) that names it in ``corrects``."""

    __tablename__ = "invoices"
    __table_args__ = (
        # One live invoice per company, period and currency; corrections reference it.
        Index(
            "uq_invoices_live",
            "tenant_id",
            "company_id",
            "period",
            "currency",
            unique=True,
            postgresql_where=text("kind = 'invoice' AND status <> 'void'"),
            sqlite_where=text("kind = 'invoice' AND status <> 'void'"),
        ),
        # At most one correction waiting as a draft per posted invoice: runs refresh it.
        Index(
            "uq_invoices_open_correction",
            "corrects",
            unique=True,
            postgresql_where=text("kind <> 'invoice' AND status = 'draft'"),
            sqlite_where=text("kind <> 'invoice' AND status = 'draft'"),
        ),
        Index("uq_invoices_number", "tenant_id", "number", unique=True),
        Index("ix_invoices_tenant_period", "tenant_id", "period"),
        Index("ix_invoices_tenant_due", "tenant_id", "due_on"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    company_id: Mapped[str] = mapped_column(String(36), index=True)
    period: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, 16))
    corrects: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus, 16))
    number: Mapped[int | None]
    display_number: Mapped[str | None] = mapped_column(String(64))
    """``number`` as the document prints it, in the tenant's format at posting (null on
    documents posted before the format was kept: they print in the default format)."""
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_on: Mapped[date | None] = mapped_column(Date)
    """The posting date in the tenant's time zone: the invoice date."""
    due_on: Mapped[date | None] = mapped_column(Date)
    parties: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    """Seller and customer as they were at posting, so a posted document never
    changes when the company or the seller profile does; drafts show the current ones."""
    lines: Mapped[list[InvoiceLineRow]] = relationship(
        back_populates="invoice",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="InvoiceLineRow.position",
    )


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    contract_id: Mapped[str] = mapped_column(String(36))
    service_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Price)
    amount: Mapped[Decimal] = mapped_column(Money)
    sources: Mapped[list[dict[str, str]]] = mapped_column(LineJson)
    """``[{"module", "metric", "quantity"}, ...]``, the quantity as a decimal string."""
    daily: Mapped[list[dict[str, Any]]] = mapped_column(LineJson)
    """The compact daily series (:mod:`services.invoicing.documents.content`)."""
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    """The line's segment: its first and last day (NULL on lines written before segments)."""
    calculation: Mapped[dict[str, Any] | None] = mapped_column(LineJson)
    """How the amount came about (:func:`services.invoicing.documents.content.calculation_json`);
    NULL on lines written before it was kept."""
    invoice: Mapped[InvoiceRow] = relationship(back_populates="lines", lazy="raise")


class PaymentRow(Base):
    """A payment is never deleted: a reversal marks it (``reversed_on``, ``reversal_reason``)
    and gives its amount back to the invoice's balance."""

    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_on: Mapped[date | None] = mapped_column(Date)
    """The reversal's date in the tenant's zone."""
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CreditApplicationRow(Base):
    """Credit of a posted credit note set against a posted invoice of the same company and
    currency (``automatic`` when posting the credit note applied it to what it corrects)."""

    __tablename__ = "credit_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    credit_note_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    applied_on: Mapped[date] = mapped_column(Date)
    automatic: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditRefundRow(Base):
    """Unapplied credit of a posted credit note paid out to the customer."""

    __tablename__ = "credit_refunds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    credit_note_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SellerProfileRow(Base):
    """What the tenant prints as the seller on its invoices, and its payment terms."""

    __tablename__ = "seller_profiles"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(300))
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    footer: Mapped[str] = mapped_column(Text, default="")
    payment_details: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BillingRunRow(Base):
    __tablename__ = "billing_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    period: Mapped[str] = mapped_column(String(7))
    invoices: Mapped[int]
    corrections: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NumberSequenceRow(Base):
    """The tenant's gapless invoice numbers: the last one given."""

    __tablename__ = "number_sequences"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_number: Mapped[int]


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
