"""The tenant's settings (``GET/PATCH /v1/settings``): anomaly thresholds, whether a
posted credit note applies itself to the invoice it corrects, and how documents print their
numbers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.anomaly import Thresholds
from services.invoicing.assurance.models import TenantSettingsRow
from services.invoicing.documents.numbering import (
    DEFAULT_NUMBER_FORMAT,
    NumberFormatError,
    check_number_format,
)
from shared.clock import Clock, utc_now
from shared.problems import invalid


@dataclass(frozen=True)
class TenantSettings:
    anomaly_threshold: Decimal = Decimal("0.5")
    anomaly_min_units: Decimal = Decimal("5")
    auto_apply_credit_notes: bool = True
    invoice_number_format: str = DEFAULT_NUMBER_FORMAT

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.anomaly_threshold, self.anomaly_min_units)


DEFAULTS = TenantSettings()


async def tenant_settings(session: AsyncSession, tenant_id: str) -> TenantSettings:
    row = await session.get(TenantSettingsRow, tenant_id)
    if row is None:
        return DEFAULTS
    return TenantSettings(
        row.anomaly_threshold,
        row.anomaly_min_units,
        row.auto_apply_credit_notes,
        row.invoice_number_format or DEFAULT_NUMBER_FORMAT,
    )


async def auto_apply_credit_notes(session: AsyncSession, tenant_id: str) -> bool:
    """Whether posting a credit note applies it to the invoice it corrects (default true)."""
    return (await tenant_settings(session, tenant_id)).auto_apply_credit_notes


async def change_settings(
    session: AsyncSession, tenant_id: str, changes: dict[str, Any], clock: Clock = utc_now
) -> TenantSettings:
    """Sets the fields in ``changes``; the others keep their values (or defaults). A number
    format documents cannot print with is refused (422), whoever calls."""
    if "invoice_number_format" in changes:
        try:
            check_number_format(changes["invoice_number_format"])
        except NumberFormatError as error:
            raise invalid(["body", "invoice_number_format"], str(error)) from None
    settings = replace(await tenant_settings(session, tenant_id), **changes)
    row = await session.get(TenantSettingsRow, tenant_id)
    if row is None:
        row = TenantSettingsRow(tenant_id=tenant_id)
        session.add(row)
    row.anomaly_threshold = settings.anomaly_threshold
    row.anomaly_min_units = settings.anomaly_min_units
    row.auto_apply_credit_notes = settings.auto_apply_credit_notes
    row.invoice_number_format = settings.invoice_number_format
    row.updated_at = clock()
    await session.flush()
    return settings
