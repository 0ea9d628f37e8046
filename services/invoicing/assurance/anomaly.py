"""The anomaly rule of PRODUCT.md section 11 (normative), pure: baselines, thresholds and
which lines of a draft hold it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

BASELINE_PERIODS = 3


@dataclass(frozen=True)
class Thresholds:
    threshold: Decimal
    """relative: |quantity - baseline| must exceed ``threshold`` x baseline"""
    min_units: Decimal
    """absolute: |quantity - baseline| must reach at least this"""


@dataclass(frozen=True)
class Reason:
    """An anomalous service of a draft; ``line_id`` is None when the service has no line
    (its quantity fell to 0)."""

    line_id: str | None
    service_code: str
    quantity: Decimal
    baseline: Decimal


def baseline(history: Sequence[Decimal]) -> Decimal | None:
    """The median of the quantities of the up to 3 most recent earlier periods (newest
    first in ``history``); None without any."""
    recent = list(history[:BASELINE_PERIODS])
    if not recent:
        return None
    return Decimal(median(recent))


def is_anomalous(quantity: Decimal, base: Decimal | None, limits: Thresholds) -> bool:
    if base is None:
        return False
    if quantity == 0 and base > 0 and base >= limits.min_units:
        return True  # billing stopped: a lost customer or a broken sync
    gap = abs(quantity - base)
    return gap >= limits.min_units and gap > limits.threshold * base


def reasons(
    lines: Sequence[tuple[str, str, Decimal]],
    history: Sequence[Mapping[str, Decimal]],
    limits: Thresholds,
) -> list[Reason]:
    """The anomalous services of one draft, in line order, then the vanished ones by code.

    ``lines``: ``(line_id, service_code, quantity)``; a service with several lines (segments)
    is judged on their sum and named by its first line. ``history``: per earlier period that
    has a regular invoice, newest first, each service code's quantity there (a service
    without a line in a period counts 0 for it)."""
    recent = history[:BASELINE_PERIODS]
    now: dict[str, tuple[str | None, Decimal]] = {}
    for line_id, code, quantity in lines:
        first, total = now.get(code, (line_id, Decimal(0)))
        now[code] = (first, total + quantity)
    vanished = sorted({code for period in recent for code in period} - set(now))
    found: list[Reason] = []
    for code in [*now, *vanished]:
        named, quantity = now.get(code, (None, Decimal(0)))
        base = baseline([period.get(code, Decimal(0)) for period in recent])
        if base is not None and is_anomalous(quantity, base, limits):
            found.append(Reason(named, code, quantity, base))
    return found


def still_released(released: Sequence[Reason], current: Sequence[Reason]) -> bool:
    """A release holds while the anomalous services are the same with the same quantities."""

    def key(items: Sequence[Reason]) -> set[tuple[str, Decimal]]:
        return {(r.service_code, r.quantity) for r in items}

    return key(released) == key(current)
