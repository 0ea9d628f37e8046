"""Reconciliation of usage with what is billed and what the vendor charged (PRODUCT.md
section 11), pure: the reasons usage goes unbilled, in their order, and quantities that add
up after rounding."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from enum import IntEnum
from fractions import Fraction

from shared.money import round_quantity

QUANTUM = Decimal("0.0001")


class Share(IntEnum):
    """Where a unit of usage goes, by precedence: a unit with several reasons counts under
    the first that applies (the smallest value); billed when none does."""

    BILLED = 0
    BILLING_DISABLED = 1
    EXCLUDED_ORG = 2
    UNMAPPED_ORG = 3
    UNMAPPED_METRIC = 4
    NO_CONTRACT = 5

    @property
    def key(self) -> str:
        return self.name.lower()


UNBILLED = tuple(s for s in Share if s is not Share.BILLED)


def classify(*, billing_enabled: bool, status: str, has_service: bool, covered: bool) -> Share:
    """One usage record's share (the SQL of :mod:`.unit_shares` says the same per row)."""
    if not billing_enabled:
        return Share.BILLING_DISABLED
    if status == "excluded":
        return Share.EXCLUDED_ORG
    if status == "unmapped":
        return Share.UNMAPPED_ORG
    if not has_service:
        return Share.UNMAPPED_METRIC
    return Share.BILLED if covered else Share.NO_CONTRACT


def _decimal(value: Fraction) -> Decimal:
    """Exact to far more digits than the 4 kept (a quotient of sums of 4-digit decimals)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(value.numerator) / Decimal(value.denominator)


def _floor(value: Fraction) -> Decimal:
    return _decimal(value).quantize(QUANTUM, rounding=ROUND_FLOOR)


def average_shares(
    sums: Mapping[Share, Decimal], days: int
) -> tuple[Decimal, dict[Share, Decimal]]:
    """The average daily quantity (Σ / ``days``, rounded half-up to 4 digits) and each
    share's part of it, rounded so that the parts add up to it exactly: each part is its
    exact value rounded down, and the units missing to the total go to the largest
    remainders (ties: the earlier share)."""
    exact = {s: Fraction(sums.get(s, Decimal(0))) / days for s in Share}
    total = sum(exact.values(), Fraction(0))
    rounded = round_quantity(_decimal(total))
    parts = {s: _floor(v) for s, v in exact.items()}
    missing = int((rounded - sum(parts.values(), Decimal(0))) / QUANTUM)
    by_remainder = sorted(Share, key=lambda s: (-(exact[s] - Fraction(parts[s])), s))
    for share in by_remainder[:missing]:
        parts[share] += QUANTUM
    return rounded, parts


@dataclass(frozen=True)
class ReconciliationRow:
    module: str
    metric: str
    vendor_quantity: Decimal | None
    """None: no vendor bill names the metric"""
    usage_quantity: Decimal
    billed_quantity: Decimal
    unbilled: dict[str, Decimal]
    difference: Decimal | None


def reconcile(
    usage: Mapping[tuple[str, str], Mapping[Share, Decimal]],
    vendor: Mapping[tuple[str, str], Decimal],
    billed_modules: Set[str],
    days: int,
) -> list[ReconciliationRow]:
    """One row per ``(module, metric)`` with usage or a vendor bill line, in that order.

    ``usage``: per metric the period's summed daily quantities by share; ``vendor``: the
    quantity the vendor billed; ``billed_modules``: the modules with a bill (a metric of
    theirs the bill does not name was billed 0; a module without a bill has no vendor
    quantity)."""
    rows = []
    for module, metric in sorted(set(usage) | set(vendor)):
        total, parts = average_shares(usage.get((module, metric), {}), days)
        billed = vendor.get((module, metric), Decimal(0) if module in billed_modules else None)
        rows.append(
            ReconciliationRow(
                module,
                metric,
                billed,
                total,
                parts[Share.BILLED],
                {s.key: parts[s] for s in UNBILLED},
                None if billed is None else billed - total,
            )
        )
    return rows
