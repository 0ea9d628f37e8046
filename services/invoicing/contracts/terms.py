"""A stored contract service's pricing as the billing code's terms."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import cast

from services.invoicing.billing import Pricing, PricingModel, Tier
from services.invoicing.models import ContractServiceRow


def pricing_of(model: str, unit_price: Decimal, tiers: str) -> Pricing:
    """The pricing of the stored columns ``pricing_model``, ``unit_price`` and ``tiers``."""
    return Pricing(
        cast(PricingModel, model),
        unit_price,
        tuple(
            Tier(Decimal(t["up_to"]) if t["up_to"] is not None else None, Decimal(t["unit_price"]))
            for t in json.loads(tiers)
        ),
    )


def service_pricing(s: ContractServiceRow) -> Pricing:
    return pricing_of(s.pricing_model, s.unit_price, s.tiers)
