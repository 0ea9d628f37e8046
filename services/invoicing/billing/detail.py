"""How a line's amount came about, and whether ``quantity x unit_price`` shows it.

A line's amount follows section 4 exactly; its shown ``quantity`` and ``unit_price`` are
rounded, and tiers, minimums and proration make ``quantity x unit_price`` differ from the
amount. :class:`Calculation` records the parts (tiers used, minimum, divisor D) so that a line
that does not multiply out can say why (``pricing_detail``, PRODUCT.md section 10), and
:func:`accounting_terms` is the one rule every accounting export writes such a line by:
quantity 1 x amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from shared.money import divide_round, exact_context, minor_units, round_money

from .pricing import Pricing, PricingModel

__all__ = [
    "Calculation",
    "ExcludedReason",
    "TierUse",
    "accounting_terms",
    "multiplies_out",
    "spread",
    "tier_uses",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)

ExcludedReason: TypeAlias = Literal[
    "no_contract", "not_in_contract", "other_terms", "other_contract"
]
"""Why a day of the period is not one of a line's days: the contract is not active, the
contract's terms in force that day lack the service, another segment (other terms) of the
service bills it, or another contract with the same service does."""


def multiplies_out(quantity: Decimal, unit_price: Decimal, amount: Decimal, currency: str) -> bool:
    """``round(quantity x unit_price)`` at the currency's minor unit equals ``amount``."""
    with exact_context():
        return round_money(quantity * unit_price, currency) == amount


def accounting_terms(
    quantity: Decimal, unit_price: Decimal, amount: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    """The ``(quantity, unit_price)`` an accounting export writes for a line: the line's own
    when they multiply out to its amount, else quantity 1 x amount (section 10)."""
    if multiplies_out(quantity, unit_price, amount, currency):
        return quantity, unit_price
    return _ONE, amount


def spread(
    total: Decimal, numerators: Sequence[Decimal], divisor: int, places: int
) -> list[Decimal]:
    """Each ``numerator / divisor`` rounded half-up to ``places`` digits, what rounding leaves
    of ``total`` added to the part of the largest absolute value (the first on a tie): the
    results add up to ``total`` exactly."""
    with exact_context():
        shares = [divide_round(n, divisor, places) for n in numerators]
        rest = total - sum(shares, _ZERO)
        if shares and rest:
            largest = max(range(len(shares)), key=lambda i: (abs(numerators[i]), -i))
            shares[largest] += rest
    return shares


@dataclass(frozen=True, slots=True)
class TierUse:
    """A tier's part of a line: units above ``lower`` up to ``up_to`` (None: no bound)."""

    lower: Decimal
    up_to: Decimal | None
    quantity: Decimal
    """The tier's units: the daily average (``daily``) or those of Q (``monthly_*``)."""
    unit_price: Decimal
    amount: Decimal
    """The tier's share of the line amount (the shares add up to it)."""


@dataclass(frozen=True, slots=True)
class Calculation:
    """The inputs and parts of a line's amount (section 4)."""

    model: PricingModel
    counting_basis: str
    unit_price: Decimal
    """The contract's unit price (``per_unit``)."""
    minimum_units: Decimal
    minimum_applied: bool
    """Some counted day (or Q) was raised to the minimum."""
    active_days: int
    """|A|: the line's days."""
    days_in_period: int
    """D: the divisor, always the days of the period."""
    tiers: tuple[TierUse, ...] = ()
    """Graduated: the tiers used; volume: the tier(s) chosen; per_unit: none."""
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...] = ()
    """Days of the period (day of month) that are not the line's, by reason."""


def _units(pricing: Pricing, q: Decimal) -> list[tuple[int, Decimal]]:
    """(tier index, units) of ``q`` with units > 0."""
    if pricing.model == "volume":
        for i, tier in enumerate(pricing.tiers):
            if tier.up_to is None or q <= tier.up_to:
                return [(i, q)] if q > 0 else []
        return []
    out = []
    lower = _ZERO
    for i, tier in enumerate(pricing.tiers):
        upper = q if tier.up_to is None else min(q, tier.up_to)
        if upper > lower:
            out.append((i, upper - lower))
        if tier.up_to is None or q <= tier.up_to:
            break
        lower = tier.up_to
    return out


def tier_uses(
    pricing: Pricing,
    counted: Mapping[Decimal, int],
    per_day: bool,
    active_days: int,
    days_in_period: int,
    line: tuple[Decimal, Decimal],
    currency: str,
) -> tuple[TierUse, ...]:
    """The tiers of ``pricing`` that the quantities ``counted`` use (each with its number of
    days): q'_d of each day when ``per_day`` (a tier's quantity is then its units summed
    over the days / D, its amount those units at its price / D), else Q alone (its units, at
    its price x |A| / D).
    ``line`` is the line's rounded ``(quantity, amount)``, which the tiers' rounded
    quantities and amounts add up to (:func:`spread`)."""
    if pricing.model == "per_unit" or not counted:
        return ()
    units: dict[int, Decimal] = {}
    with exact_context():
        for q, times in counted.items():
            for i, n in _units(pricing, q):
                units[i] = units.get(i, _ZERO) + n * times
        order = sorted(units)
        times = 1 if per_day else active_days
        amounts = [units[i] * pricing.tiers[i].unit_price * times for i in order]
    quantity, amount = line
    shown = spread(quantity, [units[i] for i in order], days_in_period if per_day else 1, 4)
    money = spread(amount, amounts, days_in_period, minor_units(currency))
    return tuple(
        TierUse(
            _ZERO if i == 0 else pricing.tiers[i - 1].up_to or _ZERO,
            pricing.tiers[i].up_to,
            shown[k],
            pricing.tiers[i].unit_price,
            money[k],
        )
        for k, i in enumerate(order)
    )
