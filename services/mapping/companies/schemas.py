"""What a company is made of when it is created or changed: checked input, shared by the
API and the CSV import."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.money import UnknownCurrency, minor_units

TaxRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=6)]


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        minor_units(value)
    except UnknownCurrency as exc:
        raise ValueError(f"unknown ISO 4217 currency {value!r}") from exc
    return value


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=300)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    tax_rate: TaxRate = Decimal(0)
    currency: str | None = None

    _check_currency = field_validator("currency")(_currency)


class CompanyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=300)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    tax_rate: TaxRate | None = None
    currency: str | None = None

    _check_currency = field_validator("currency")(_currency)

    def changes(self) -> dict[str, object]:
        """The fields sent; ``name`` and ``tax_rate`` cannot be cleared, so a null leaves
        them as they are."""
        changes = self.model_dump(exclude_unset=True)
        for field in ("name", "tax_rate"):
            if field in changes and changes[field] is None:
                changes.pop(field)
        return changes
