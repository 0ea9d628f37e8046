"""Tenant settings: anomaly thresholds and credit-note application."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.assurance import tenant_settings
from services.invoicing.documents.formatting import rate
from shared.wire import Quantity

router = APIRouter(prefix="/v1", tags=["settings"])


class SettingsOut(BaseModel):
    anomaly_threshold: Decimal = Field(
        description="a line is anomalous when it differs from its baseline by more than this "
        "share of the baseline (and by at least anomaly_min_units)"
    )
    anomaly_min_units: Quantity
    auto_apply_credit_notes: bool


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    anomaly_threshold: Decimal | None = Field(default=None, ge=0, le=1000, decimal_places=4)
    anomaly_min_units: Decimal | None = Field(
        default=None, ge=0, le=Decimal("1e12"), decimal_places=4
    )
    auto_apply_credit_notes: bool | None = None


def _out(settings: tenant_settings.TenantSettings) -> SettingsOut:
    values = asdict(settings)
    values["anomaly_threshold"] = rate(settings.anomaly_threshold)
    return SettingsOut(**values)


@router.get("/settings", response_model=SettingsOut)
async def get_settings(ctx: Caller, runtime: Runtime) -> SettingsOut:
    async with runtime.sessions() as session:
        return _out(await tenant_settings.tenant_settings(session, ctx.tenant_id))


@router.patch("/settings", response_model=SettingsOut)
async def patch_settings(body: SettingsPatch, ctx: Caller, runtime: Runtime) -> SettingsOut:
    """Changes the fields sent; anomaly settings apply from the next billing run."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    async with runtime.transaction() as session:
        return _out(await tenant_settings.change_settings(session, ctx.tenant_id, changes))
