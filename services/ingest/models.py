"""Ingest's tables (schema ``ingest``): every usage record as last received, module billing,
module connections for the daily pull and their sync history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.ingest.sync.status import SyncStatus, SyncTrigger
from shared.db import BigId, service_metadata, str_enum
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


class ModuleConnectionRow(Base):
    """Where and how to pull one module's daily usage for a tenant.

    ``credentials`` is Fernet ciphertext (``ICB_CONNECTION_KEY``); it never leaves the service
    in clear. ``sync_time`` (local ``HH:MM`` in ``timezone``; null: the service default) is when
    the previous day is pulled; ``scheduled_through`` is the last day a scheduled sync was
    created for, which makes "once a day" hold across replicas and restarts.
    """

    __tablename__ = "module_connections"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(2000))
    credentials: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64))
    sync_time: Mapped[str | None] = mapped_column(String(5))
    enabled: Mapped[bool]
    scheduled_through: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModuleSyncRow(Base):
    """One pull of one module's day: its attempts, counts and outcome (``sync/status.py``).

    ``retrying`` goes back to ``running`` at ``next_attempt_at``. A ``running`` row whose
    ``next_attempt_at`` (the lease) passed was left by a crash and is taken over.
    """

    __tablename__ = "module_syncs"
    __table_args__ = (
        Index(None, "tenant_id", "module", "day"),
        Index(None, "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    module: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    trigger: Mapped[SyncTrigger] = mapped_column(str_enum(SyncTrigger, 16))
    status: Mapped[SyncStatus] = mapped_column(str_enum(SyncStatus, 16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    corrected: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
