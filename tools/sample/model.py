"""The value types of a generated sample MSP."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NamedTuple

Pricing = Literal["per_unit", "graduated", "volume"]
CountingBasis = Literal["daily", "monthly_peak", "monthly_last"]


@dataclass(frozen=True, slots=True)
class SampleCompany:
    """A customer of the MSP: who receives the invoice."""

    key: str
    name: str
    external_ref: str
    tax_rate: Decimal
    currency: str
    country: str = ""


@dataclass(frozen=True, slots=True)
class SampleOrg:
    """A module organisation and its truth label (``company_key`` None: belongs to nobody).

    ``org_name`` is the name at the start of the period; an org renamed mid-period reports
    ``renamed_to`` from ``renamed_on``. ``first_day``/``last_day`` bound the days it reports
    (None: before/after any day asked for).
    """

    module: str
    org_id: str
    org_name: str
    company_key: str | None
    renamed_to: str | None = None
    renamed_on: dt.date | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    jump_on: dt.date | None = None

    def name_on(self, day: dt.date) -> str:
        if self.renamed_to is not None and self.renamed_on is not None and day >= self.renamed_on:
            return self.renamed_to
        return self.org_name

    def active_on(self, day: dt.date) -> bool:
        if self.first_day is not None and day < self.first_day:
            return False
        return self.last_day is None or day <= self.last_day


class SampleRecord(NamedTuple):
    """One daily count, as a module reports it (a tuple, for streaming speed)."""

    module: str
    org_id: str
    org_name: str
    metric: str
    date: dt.date
    quantity: Decimal


class SampleTier(NamedTuple):
    """A price tier; ``up_to`` None means no upper bound (the last tier)."""

    up_to: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class SampleService:
    """A priced service of the MSP's service plan and the ``(module, metric)`` feeding it.

    ``unit_price`` is the per-unit price for ``per_unit`` (and the headline price for tiered
    services: their first tier's price). Prices are in whatever currency the contract uses.
    """

    service_code: str
    name: str
    unit: str
    unit_price: Decimal
    sources: tuple[tuple[str, str], ...]
    pricing: Pricing = "per_unit"
    counting_basis: CountingBasis = "daily"
    tiers: tuple[SampleTier, ...] = ()
    minimum_units: Decimal = Decimal(0)


def as_usage_json(record: SampleRecord) -> dict[str, str]:
    """A record in the shape of ``POST /v1/usage`` ``records[]`` (decimals as strings)."""
    return {
        "module": record.module,
        "org_id": record.org_id,
        "org_name": record.org_name,
        "metric": record.metric,
        "date": record.date.isoformat(),
        "quantity": format(record.quantity, "f"),
    }


def as_contract_service_json(service: SampleService) -> dict[str, Any]:
    """A service in the shape of ``POST /v1/contracts`` ``services[]``."""
    pricing: dict[str, Any] = {"model": service.pricing}
    if service.tiers:
        pricing["tiers"] = [
            {
                "up_to": None if t.up_to is None else format(t.up_to, "f"),
                "unit_price": format(t.unit_price, "f"),
            }
            for t in service.tiers
        ]
    return {
        "service_code": service.service_code,
        "name": service.name,
        "unit_price": format(service.unit_price, "f"),
        "counting_basis": service.counting_basis,
        "pricing": pricing,
        "minimum_units": format(service.minimum_units, "f"),
    }
