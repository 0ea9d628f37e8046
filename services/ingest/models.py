"""Ingest's tables (schema ``ingest``): every usage record as last received, module billing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.inbox import inbox_table
from shared.outbox import outbox_table

SCHEMA = "ingest"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class UsageRecordRow(Base):
    """The latest version of each record ``(tenant, module, org_id, metric, day)``."""

    __tablename__ = "usage_records"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    org_name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(24, 4))
    revision: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModuleBillingRow(Base):
    __tablename__ = "module_billing"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool]
    effective_from: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
