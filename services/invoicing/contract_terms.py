"""A stored contract service as the billing code's terms."""

from __future__ import annotations

import json
from decimal import Decimal

from services.invoicing.billing import Pricing, Tier
from services.invoicing.models import ContractServiceRow


def service_pricing(s: ContractServiceRow) -> Pricing:
    tiers = tuple(
        Tier(Decimal(t["up_to"]) if t["up_to"] is not None else None, Decimal(t["unit_price"]))
        for t in json.loads(s.tiers)
    )
    return Pricing(s.pricing_model, s.unit_price, tiers)  # type: ignore[arg-type]
