"""A stored contract service's pricing as the billing code's terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from services.invoicing.billing import Pricing, PricingModel, Tier
from services.invoicing.models import ContractServiceRow

StoredTiers = Sequence[Mapping[str, str | None]]
"""The ``tiers`` column: ``up_to`` (null: no bound) and ``unit_price`` as decimal strings."""


def stored_tiers(tiers: Sequence[Tier]) -> list[dict[str, str | None]]:
    return [
        {"up_to": None if t.up_to is None else str(t.up_to), "unit_price": str(t.unit_price)}
        for t in tiers
    ]


def _tier(stored: Mapping[str, str | None]) -> Tier:
    up_to, unit_price = stored["up_to"], stored["unit_price"]
    assert unit_price is not None
    return Tier(None if up_to is None else Decimal(up_to), Decimal(unit_price))


def pricing_of(model: PricingModel, unit_price: Decimal, tiers: StoredTiers) -> Pricing:
    """The pricing of the stored columns ``pricing_model``, ``unit_price`` and ``tiers``."""
    return Pricing(model, unit_price, tuple(_tier(t) for t in tiers))


class Pricings:
    """Parses each distinct stored pricing once: the contracts of one plan share their
    services, and one shared object is also sent to the billing workers once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, Decimal, tuple[tuple[str | None, ...], ...]], Pricing] = {}

    def __call__(self, model: PricingModel, unit_price: Decimal, tiers: StoredTiers) -> Pricing:
        key = (model, unit_price, tuple(tuple(t.values()) for t in tiers))
        pricing = self._seen.get(key)
        if pricing is None:
            pricing = self._seen[key] = pricing_of(model, unit_price, tiers)
        return pricing


def service_pricing(s: ContractServiceRow) -> Pricing:
    return pricing_of(s.pricing_model, s.unit_price, s.tiers)
