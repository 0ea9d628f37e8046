"""Stored pricing (the ``tiers`` JSON column) as the billing code's terms."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.invoicing.billing import Tier
from services.invoicing.contracts.terms import Pricings, pricing_of, stored_tiers

amounts = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False)


@given(st.lists(st.tuples(st.none() | amounts, amounts), max_size=5))
def test_tiers_come_back_as_they_were_stored(pairs: list[tuple[Decimal | None, Decimal]]) -> None:
    tiers = tuple(Tier(up_to, price) for up_to, price in pairs)
    stored = stored_tiers(tiers)
    assert all(isinstance(t["unit_price"], str) for t in stored)  # exact decimals in JSON
    assert pricing_of("graduated", Decimal(0), stored).tiers == tiers


def test_services_of_one_plan_share_one_parsed_pricing() -> None:
    pricings = Pricings()
    tiers: list[dict[str, str | None]] = [
        {"up_to": "10", "unit_price": "3.00"},
        {"up_to": None, "unit_price": "1.25"},
    ]
    first = pricings("graduated", Decimal(0), tiers)
    again = pricings("graduated", Decimal(0), [dict(t) for t in tiers])
    other = pricings("volume", Decimal(0), tiers)
    assert first is again and first is not other
    assert first.tiers == (Tier(Decimal(10), Decimal("3.00")), Tier(None, Decimal("1.25")))
