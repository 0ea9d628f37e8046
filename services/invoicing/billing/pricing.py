"""Price functions P(q) of a contract service (section 4 of the product spec)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from shared.money import exact_context

__all__ = [
    "InvalidPricing",
    "Pricing",
    "PricingModel",
    "Tier",
    "price",
    "price_function",
    "pricing_errors",
]

PricingModel: TypeAlias = Literal["per_unit", "graduated", "volume"]

_ZERO = Decimal(0)


class InvalidPricing(ValueError):
    """The pricing definition is invalid; ``errors`` holds the ``(loc, msg)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to ``up_to`` (inclusive; ``None`` = no bound) at ``unit_price``."""

    up_to: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Pricing:
    """``per_unit`` uses ``unit_price``; ``graduated`` and ``volume`` use ``tiers``."""

    model: PricingModel
    unit_price: Decimal
    tiers: tuple[Tier, ...] = ()


def pricing_errors(pricing: Pricing) -> list[tuple[str, str]]:
    """Every problem of the definition as ``(loc, msg)``; empty when it is valid.

    ``loc`` is dotted and relative to the pricing: ``unit_price``, ``tiers``,
    ``tiers.1.up_to``, ``tiers.0.unit_price``.
    """
    errors: list[tuple[str, str]] = []
    if pricing.model not in ("per_unit", "graduated", "volume"):
        errors.append(("model", "must be one of per_unit, graduated, volume"))
        return errors
    if not pricing.unit_price.is_finite():
        errors.append(("unit_price", "must be a finite number"))
    elif pricing.unit_price < 0:
        errors.append(("unit_price", "must not be negative"))

    tiers = pricing.tiers
    if pricing.model == "per_unit":
        if tiers:
            errors.append(("tiers", "must be empty for the per_unit model"))
        return errors
    if not tiers:
        errors.append(("tiers", f"at least one tier is required for the {pricing.model} model"))
        return errors

    previous: Decimal | None = None
    last = len(tiers) - 1
    for i, tier in enumerate(tiers):
        if not tier.unit_price.is_finite():
            errors.append((f"tiers.{i}.unit_price", "must be a finite number"))
        elif tier.unit_price < 0:
            errors.append((f"tiers.{i}.unit_price", "must not be negative"))
        up_to = tier.up_to
        if up_to is None:
            if i != last:
                errors.append((f"tiers.{i}.up_to", "only the last tier may be unbounded (null)"))
            continue
        if not up_to.is_finite():
            errors.append((f"tiers.{i}.up_to", "must be a finite number or null"))
            continue
        if i == last:
            errors.append((f"tiers.{i}.up_to", "the last tier must be unbounded (null)"))
        if up_to <= 0:
            errors.append((f"tiers.{i}.up_to", "must be greater than 0"))
        elif previous is not None and up_to <= previous:
            errors.append((f"tiers.{i}.up_to", "must be greater than the previous tier's up_to"))
        previous = up_to if previous is None or up_to > previous else previous
    return errors


def price(pricing: Pricing, q: Decimal) -> Decimal:
    """P(q), exact (not rounded).

    - ``per_unit``: q x unit_price
    - ``graduated``: sum_i price_i x max(0, min(q, up_to_i) - up_to_{i-1}), up_to_0 = 0
    - ``volume``: q x price of the first tier with q <= up_to (null = infinity)

    Raises :class:`InvalidPricing` for an invalid definition and ``ValueError`` for q < 0.
    """
    return price_function(pricing)(q)


_FUNCTIONS: dict[int, tuple[Pricing, Callable[[Decimal], Decimal]]] = {}
"""The price functions of the pricing objects seen lately, by identity (the entry keeps its
pricing alive, so an id is not reused while it is here)."""
MAX_FUNCTIONS = 256
MAX_KNOWN = 4096
"""Prices a function remembers: a billing run's companies share their plans' pricings, and
their quantities repeat."""


def price_function(pricing: Pricing) -> Callable[[Decimal], Decimal]:
    """:func:`price` of one pricing, checked once: the function a line applies to each of
    its days. It remembers the prices of the quantities it has seen (a month's daily series
    repeats a few quantities many times), and the same pricing object gets the same
    function back."""
    entry = _FUNCTIONS.get(id(pricing))
    if entry is not None and entry[0] is pricing:
        return entry[1]
    errors = pricing_errors(pricing)
    if errors:
        raise InvalidPricing(errors)
    known: dict[Decimal, Decimal] = {}

    def priced(q: Decimal) -> Decimal:
        found = known.get(q)
        if found is None:
            if not q.is_finite() or q < 0:
                raise ValueError(f"quantity must be a finite non-negative number, got {q}")
            with exact_context():
                found = _evaluate(pricing, q)
            if len(known) < MAX_KNOWN:
                known[q] = found
        return found

    if len(_FUNCTIONS) >= MAX_FUNCTIONS:
        _FUNCTIONS.clear()
    _FUNCTIONS[id(pricing)] = (pricing, priced)
    return priced


def _evaluate(pricing: Pricing, q: Decimal) -> Decimal:
    if pricing.model == "per_unit":
        return q * pricing.unit_price
    if pricing.model == "volume":
        for tier in pricing.tiers:
            if tier.up_to is None or q <= tier.up_to:
                return q * tier.unit_price
        raise AssertionError("unreachable: the last tier is unbounded")
    total = _ZERO
    lower = _ZERO
    for tier in pricing.tiers:
        upper = q if tier.up_to is None else min(q, tier.up_to)
        if upper > lower:
            total += tier.unit_price * (upper - lower)
        if tier.up_to is None or q <= tier.up_to:
            break
        lower = tier.up_to
    return total
