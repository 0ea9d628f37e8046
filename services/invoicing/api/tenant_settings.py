"""Tenant settings: anomaly thresholds, credit-note application, the number format."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from fastapi import APIRouter
from pydantic import ConfigDict, Field, field_validator

from services.invoicing.api.deps import Caller, Runtime
from services.invoicing.assurance import tenant_settings
from services.invoicing.documents.formatting import rate
from services.invoicing.documents.numbering import MAX_FORMAT_LENGTH, check_number_format
from shared.openapi_docs import ApiModel, examples
from shared.wire import Quantity

router = APIRouter(prefix="/v1", tags=["settings"])


class SettingsOut(ApiModel):
    anomaly_threshold: Decimal
    """A draft's line is anomalous when it differs from its baseline (the median quantity
    of the up to 3 most recent earlier invoiced periods) by more than this share of it, and
    by at least ``anomaly_min_units`` (default 0.5)."""
    anomaly_min_units: Quantity
    """The least difference from the baseline that makes a line anomalous; a service that
    fell to 0 from a baseline of at least this much is anomalous too (default 5)."""
    auto_apply_credit_notes: bool
    """Posting a credit note applies it to the invoice it corrects, as far as that
    invoice's balance allows (default true)."""
    invoice_number_format: str
    """How documents print their number (``display_number``; the gapless integer ``number``
    stays as it is): ``{number}``, ``{year}`` and ``{month}`` of the invoice date, each with
    an optional zero-padded width such as ``{number:05}``, between letters, digits, ``-``
    and ``/`` (default ``INV-{year}-{number:05}``). A document keeps the format it was
    posted with."""


class SettingsPatch(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=examples(
            {
                "anomaly_threshold": "0.5",
                "anomaly_min_units": "5",
                "auto_apply_credit_notes": True,
                "invoice_number_format": "INV-{year}-{number:05}",
            }
        ),
    )
    anomaly_threshold: Decimal | None = Field(default=None, ge=0, le=1000, decimal_places=4)
    """A line is anomalous when it differs from its baseline by more than this share of the
    baseline (default 0.5); applies from the next billing run."""
    anomaly_min_units: Decimal | None = Field(
        default=None, ge=0, le=Decimal("1e12"), decimal_places=4
    )
    """The least difference from the baseline that makes a line anomalous (default 5);
    applies from the next billing run."""
    auto_apply_credit_notes: bool | None = None
    """Whether posting a credit note applies it to the invoice it corrects (default true)."""
    invoice_number_format: str | None = Field(default=None, max_length=MAX_FORMAT_LENGTH)
    """How documents posted from now on print their number: ``{number}`` (required),
    ``{year}``, ``{month}``, each with an optional zero-padded width such as
    ``{number:05}``, between letters, digits, ``-`` and ``/``; at most 36 characters
    printed. Posted documents keep theirs."""

    @field_validator("invoice_number_format")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else check_number_format(value)


def _out(settings: tenant_settings.TenantSettings) -> SettingsOut:
    values = asdict(settings)
    values["anomaly_threshold"] = rate(settings.anomaly_threshold)
    return SettingsOut(**values)


@router.get("/settings", response_model=SettingsOut, summary="Show the tenant settings")
async def get_settings(ctx: Caller, runtime: Runtime) -> SettingsOut:
    """The anomaly hold's thresholds, whether credit notes apply themselves at posting, and
    the invoice number's format."""
    async with runtime.sessions() as session:
        return _out(await tenant_settings.tenant_settings(session, ctx.tenant_id))


@router.patch("/settings", response_model=SettingsOut, summary="Change the tenant settings")
async def patch_settings(body: SettingsPatch, ctx: Caller, runtime: Runtime) -> SettingsOut:
    """Changes the fields sent; anomaly settings apply from the next billing run, the number
    format to documents posted from now on. A refused field changes nothing."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    async with runtime.transaction() as session:
        return _out(await tenant_settings.change_settings(session, ctx.tenant_id, changes))
