"""Accounting: the tenant's accounts and tax codes, and the period's documents as DATEV,
Xero and QuickBooks Online import files."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field

from services.invoicing.accounting.service import (
    AccountingSettings,
    accounting_settings,
    save_accounting_settings,
)
from services.invoicing.api.deps import Caller, Defaults, Runtime
from services.invoicing.api.invoices import file_response
from services.invoicing.documents.exports.files import AccountingFormat, accounting_export
from shared.clock import utc_now
from shared.openapi_docs import ApiModel, examples
from shared.wire import Period

router = APIRouter(prefix="/v1", tags=["accounting"])
Account = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,20}$")]
PERIOD = Query(description="the calendar month YYYY-MM")


class AccountingSettingsIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {
                "default_revenue_account": "8400",
                "revenue_accounts": {"RMM-SRV": "8401"},
                "debtor_accounts": {"0b6f8f52-3c1e-4a57-9d0e-6a3c2f1b7e45": "10001"},
                "tax_codes": {"0.19": "3"},
                "datev_consultant_number": "1234567",
                "datev_client_number": "10001",
                "datev_account_length": 4,
            }
        ),
    )
    default_revenue_account: Account
    """The revenue account of service codes without one of their own."""
    revenue_accounts: dict[str, Account] = Field(
        default_factory=dict, description="service_code -> revenue account"
    )
    debtor_accounts: dict[str, Account] = Field(
        default_factory=dict, description="company_id -> debtor account (DATEV: 10000-69999)"
    )
    tax_codes: dict[str, Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=dict,
        description='tax rate ("0.19") -> the tax code of the bookkeeping system (DATEV '
        "BU-Schlüssel, Xero TaxType, QuickBooks tax code)",
    )
    datev_consultant_number: str | None = Field(default=None, pattern=r"^\d{4,7}$")
    """DATEV Beraternummer for the EXTF header."""
    datev_client_number: str | None = Field(default=None, pattern=r"^\d{1,5}$")
    """DATEV Mandantennummer for the EXTF header."""
    datev_account_length: int = Field(default=4, ge=4, le=8)
    """DATEV Sachkontenlänge: digits of a general ledger account."""


class AccountingSettingsOut(AccountingSettingsIn):
    default_revenue_account: str | None  # type: ignore[assignment]
    """The revenue account of service codes without one of their own; null until set."""


@router.get(
    "/accounting/settings",
    response_model=AccountingSettingsOut,
    summary="Show the accounting settings",
)
async def get_accounting_settings(ctx: Caller, runtime: Runtime) -> AccountingSettingsOut:
    """``default_revenue_account`` is null until the settings are set."""
    async with runtime.sessions() as session:
        settings = await accounting_settings(session, ctx.tenant_id)
    return AccountingSettingsOut.model_construct(**asdict(settings))


@router.put(
    "/accounting/settings",
    response_model=AccountingSettingsOut,
    summary="Set the accounting settings",
)
async def put_accounting_settings(
    body: AccountingSettingsIn, ctx: Caller, runtime: Runtime
) -> AccountingSettingsOut:
    """Revenue accounts per service code, debtor accounts per company and tax codes per
    rate, as the DATEV, Xero and QuickBooks exports write them; replaces the previous
    settings."""
    async with runtime.transaction() as session:
        settings = await save_accounting_settings(
            session, ctx.tenant_id, AccountingSettings(**body.model_dump()), utc_now()
        )
    return AccountingSettingsOut.model_construct(**asdict(settings))


async def _export(
    format: AccountingFormat, period: str, ctx: Caller, runtime: Runtime, defaults: Defaults
) -> Response:
    async with runtime.sessions() as session:
        file = await accounting_export(session, ctx.tenant_id, period, format, defaults, utc_now())
    return file_response(file)


CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the import file"}
}


@router.get(
    "/exports/datev",
    responses=CSV_ANSWER,
    response_class=Response,
    summary="Export a period for DATEV",
)
async def export_datev(
    ctx: Caller, runtime: Runtime, defaults: Defaults, period: Annotated[Period, PERIOD]
) -> Response:
    """DATEV Buchungsstapel (EXTF 700, format version 13): one booking per invoice line,
    debtor against revenue account, gross amount with the tax key of its rate."""
    return await _export("datev", period, ctx, runtime, defaults)


@router.get(
    "/exports/xero",
    responses=CSV_ANSWER,
    response_class=Response,
    summary="Export a period for Xero",
)
async def export_xero(
    ctx: Caller, runtime: Runtime, defaults: Defaults, period: Annotated[Period, PERIOD]
) -> Response:
    """Xero sales invoice import CSV, one row per line; every row multiplies out."""
    return await _export("xero", period, ctx, runtime, defaults)


@router.get(
    "/exports/quickbooks",
    responses=CSV_ANSWER,
    response_class=Response,
    summary="Export a period for QuickBooks Online",
)
async def export_quickbooks(
    ctx: Caller, runtime: Runtime, defaults: Defaults, period: Annotated[Period, PERIOD]
) -> Response:
    """QuickBooks Online invoice import CSV, one row per line; every row multiplies out."""
    return await _export("quickbooks", period, ctx, runtime, defaults)
