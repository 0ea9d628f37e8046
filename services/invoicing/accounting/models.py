"""The tenant's accounting settings (one row per tenant)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.invoicing.models import Base
from shared.db import JsonDocument


class AccountingSettingsRow(Base):
    __tablename__ = "accounting_settings"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    default_revenue_account: Mapped[str] = mapped_column(String(20))
    revenue_accounts: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    debtor_accounts: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    tax_codes: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    """Tax rate as a normalised decimal string ("0.19") -> the bookkeeping system's code."""
    datev_consultant_number: Mapped[str | None] = mapped_column(String(7))
    datev_client_number: Mapped[str | None] = mapped_column(String(5))
    datev_account_length: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
