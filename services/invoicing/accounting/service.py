"""Use cases of the accounting settings: read them (empty until set) and replace them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.accounting.models import AccountingSettingsRow
from shared.problems import invalid

DEFAULT_ACCOUNT_LENGTH = 4


def rate_key(rate: Decimal) -> str:
    """A tax rate as the settings key it is found under: "0.19", "0.07", "0"."""
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class AccountingSettings:
    default_revenue_account: str | None = None
    revenue_accounts: dict[str, str] = field(default_factory=dict)
    debtor_accounts: dict[str, str] = field(default_factory=dict)
    tax_codes: dict[str, str] = field(default_factory=dict)
    datev_consultant_number: str | None = None
    datev_client_number: str | None = None
    datev_account_length: int = DEFAULT_ACCOUNT_LENGTH

    @property
    def configured(self) -> bool:
        return self.default_revenue_account is not None

    def revenue_account(self, service_code: str) -> str | None:
        return self.revenue_accounts.get(service_code, self.default_revenue_account)

    def tax_code(self, rate: Decimal) -> str | None:
        return self.tax_codes.get(rate_key(rate))


def normalised_tax_codes(codes: dict[str, str]) -> dict[str, str]:
    """Keys as :func:`rate_key` writes them; a key that is no rate from 0 to 1 is refused."""
    out: dict[str, str] = {}
    for key, code in codes.items():
        try:
            rate = Decimal(key)
        except InvalidOperation:
            rate = Decimal(-1)
        if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
            raise invalid(["body", "tax_codes", key], 'must be a tax rate from 0 to 1, e.g. "0.19"')
        out[rate_key(rate)] = code
    return out


async def accounting_settings(session: AsyncSession, tenant_id: str) -> AccountingSettings:
    row = await session.get(AccountingSettingsRow, tenant_id)
    if row is None:
        return AccountingSettings()
    return AccountingSettings(
        row.default_revenue_account,
        dict(row.revenue_accounts),
        dict(row.debtor_accounts),
        dict(row.tax_codes),
        row.datev_consultant_number,
        row.datev_client_number,
        row.datev_account_length,
    )


async def save_accounting_settings(
    session: AsyncSession, tenant_id: str, settings: AccountingSettings, now: datetime
) -> AccountingSettings:
    values = {**asdict(settings), "tax_codes": normalised_tax_codes(settings.tax_codes)}
    row = await session.get(AccountingSettingsRow, tenant_id, with_for_update=True)
    if row is None:
        row = AccountingSettingsRow(tenant_id=tenant_id, updated_at=now, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
    await session.flush()
    return AccountingSettings(**values)
