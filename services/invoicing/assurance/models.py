"""Revenue assurance's tables in invoicing's schema: tenant settings, holds on drafts,
vendor bills, and the unit table summed per month."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.invoicing.models import Base, Quantity
from shared.db import JsonDocument


class TenantSettingsRow(Base):
    """A tenant's settings; a tenant without a row has the defaults."""

    __tablename__ = "tenant_settings"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    anomaly_threshold: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    anomaly_min_units: Mapped[Decimal] = mapped_column(Quantity)
    auto_apply_credit_notes: Mapped[bool] = mapped_column(Boolean)
    invoice_number_format: Mapped[str | None] = mapped_column(String(64))
    """Null: the default format."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InvoiceHoldRow(Base):
    """The anomalies holding a draft, and who released it; recomputed by every billing run
    of the period."""

    __tablename__ = "invoice_holds"
    __table_args__ = (Index("ix_invoice_holds_tenant_period", "tenant_id", "period"),)
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(String(36))
    period: Mapped[str] = mapped_column(String(7))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    """``[{"line_id", "service_code", "quantity", "baseline"}]``, decimals as strings."""
    released_by: Mapped[str | None] = mapped_column(String(36))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VendorBillRow(Base):
    """What a vendor charged for one module and period; a second bill replaces the first."""

    __tablename__ = "vendor_bills"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, str]]] = mapped_column(JsonDocument)
    """``[{"metric", "quantity", "unit_cost"}]``, decimals as strings."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


MONTH_DAYS = 31
CODES_SEPARATOR = ","
"""Service codes never contain it (their pattern: letters, digits and ``._:/-``)."""


def day_column(day: int) -> str:
    """The column of the ``day``-th day (1-based) of the month."""
    return f"d{day:02}"


usage_months = Table(
    "usage_months",
    Base.metadata,
    Column("tenant_id", String(36), nullable=False),
    Column("month", Date, nullable=False),
    Column("module", String(64), nullable=False),
    Column("org_id", String(200), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("company_id", String(36), nullable=False),
    Column("service_codes", String(1300), nullable=False),
    Column("quantity", Quantity, nullable=False),
    *(Column(day_column(d), Quantity, nullable=False) for d in range(1, MONTH_DAYS + 1)),
    PrimaryKeyConstraint(
        "tenant_id",
        "month",
        "module",
        "org_id",
        "metric",
        "status",
        "company_id",
        "service_codes",
    ),
)
"""The unit table per month, kept by :mod:`..usage_months`: per org and metric, and per
resolution its records of the month had (status, company, ``service_codes`` sorted and
joined by :data:`CODES_SEPARATOR`; ``""`` for none), each day's quantity (one column per day
of the month) and their sum. A record counts once however many services it feeds. What the
reconciliation reads instead of every record of the month: the reasons it needs are a
function of these keys and the day, with contracts and module billing states applied when
it is read, so later changes of those need nothing here."""
