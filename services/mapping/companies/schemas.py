"""What a company is made of when it is created or changed: checked input, shared by the
API and the CSV import."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from shared.money import UnknownCurrency, minor_units
from shared.openapi_docs import ApiModel, examples

TaxRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=6)]


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        minor_units(value)
    except UnknownCurrency as exc:
        raise ValueError(f"unknown ISO 4217 currency {value!r}") from exc
    return value


class CompanyIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {"name": "Contoso Ltd", "external_ref": "C-1001", "tax_rate": "0.19", "currency": "EUR"}
        ),
    )
    name: str = Field(min_length=1, max_length=300)
    """The company's name, as invoices show it."""
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    """The company's id in the MSP's other systems (PSA, accounting); unique per tenant."""
    tax_rate: TaxRate = Decimal(0)
    """The tax rate of its invoices, a fraction from 0 to 1 ("0.19" for 19 %)."""
    currency: str | None = None
    """The ISO 4217 currency it is invoiced in, if fixed."""

    _check_currency = field_validator("currency")(_currency)


class CompanyPatch(ApiModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=examples({"tax_rate": "0.2"})
    )
    name: str | None = Field(default=None, min_length=1, max_length=300)
    """A new name; null leaves it."""
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    """A new reference, unique per tenant; null clears it."""
    tax_rate: TaxRate | None = None
    """A new tax rate, a fraction from 0 to 1; null leaves it."""
    currency: str | None = None
    """A new ISO 4217 currency; null clears it."""

    _check_currency = field_validator("currency")(_currency)

    def changes(self) -> dict[str, object]:
        """The fields sent; ``name`` and ``tax_rate`` cannot be cleared, so a null leaves
        them as they are."""
        changes = self.model_dump(exclude_unset=True)
        for field in ("name", "tax_rate"):
            if field in changes and changes[field] is None:
                changes.pop(field)
        return changes
