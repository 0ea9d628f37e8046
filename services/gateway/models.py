"""Gateway's tables (schema ``gateway``): tenants, API keys (hashed) and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.context import Role
from shared.db import BigId, JsonDocument, service_metadata, str_enum
from shared.inbox import inbox_table
from shared.outbox import outbox_table

SCHEMA = "gateway"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class TenantRow(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    __tablename__ = "audit"
    __table_args__ = (
        Index("ix_audit_tenant_at", "tenant_id", "at"),
        Index("ix_audit_tenant_id_key_id_id", "tenant_id", "key_id", "id"),
        Index("ix_audit_tenant_id_resource_id", "tenant_id", "resource", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    key_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the write changed, as the owning service reported it (see ``shared.changes``):
    # ``action`` e.g. ``contract.update`` or ``auth.failed``; ``before``/``after`` the
    # resource's state around the change, secrets redacted.
    action: Mapped[str | None] = mapped_column(String(64))
    resource: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[Any] = mapped_column(JsonDocument, nullable=True)
    after: Mapped[Any] = mapped_column(JsonDocument, nullable=True)
    source: Mapped[str | None] = mapped_column(String(64))
    """The client's address."""


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
