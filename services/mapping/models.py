"""Mapping's tables (schema ``mapping``): companies, module orgs, mappings, usage to resolve,
the audit of mapping changes and replicas of module billing states and contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigId, JsonDocument, service_metadata
from shared.inbox import inbox_table
from shared.outbox import outbox_table
from shared.replicas import ModuleBillingReplica

SCHEMA = "mapping"
TENANT_WIDE = ""


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class CompanyRow(Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("tenant_id", "external_ref"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(300))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModuleOrgRow(Base):
    """A customer as a module knows it, discovered from usage."""

    __tablename__ = "module_orgs"
    __table_args__ = (
        Index("ix_module_orgs_tenant_module_last_seen", "tenant_id", "module", "last_seen"),
    )
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    org_name: Mapped[str] = mapped_column(String(300))
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)


class OrgMappingRow(Base):
    __tablename__ = "org_mappings"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    company_id: Mapped[str | None] = mapped_column(String(36), index=True)
    excluded: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ServiceMappingRow(Base):
    """``(module, metric)`` to service codes; ``company_id`` empty means tenant-wide."""

    __tablename__ = "service_mappings"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_codes: Mapped[list[str]] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageRow(Base):
    """Every usage record, kept so later mappings can re-resolve it. ``version`` counts
    the resolutions published for the key."""

    __tablename__ = "usage"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(24, 4))
    revision: Mapped[int]
    version: Mapped[int]


class PendingResolutionRow(Base):
    """An org whose mapping changed and whose usage still awaits re-resolution: written in
    the transaction of the change, deleted in the transaction that re-resolves it."""

    __tablename__ = "pending_resolutions"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PendingMetricResolutionRow(Base):
    """A service mapping that changed, ``(module, metric)`` tenant-wide or for one company,
    whose usage still awaits re-resolution; kept like ``pending_resolutions``."""

    __tablename__ = "pending_metric_resolutions"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MappingAuditRow(Base):
    """One mapping change: who (API key id), when, what, and the state before and after
    (JSON, null where there was or is none)."""

    __tablename__ = "mapping_audit"
    __table_args__ = (Index("ix_mapping_audit_tenant_id_id", "tenant_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    module: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(36))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)


class ModuleBillingRow(ModuleBillingReplica, Base):
    """Replica of ingest's module billing states, kept from ``module.billing_changed``."""


class ContractReplicaRow(Base):
    """Replica of invoicing's contracts, as much as insights need: which company is covered
    for which service codes on which days. Kept from ``contract.changed``."""

    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_tenant_id_company_id", "tenant_id", "company_id"),)
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(36))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    service_codes: Mapped[list[str]] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
