"""The explanation of a line: each source's day in the period with why it counts what it
counts, and the calculation that turns the days into the line's quantity and amount."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.invoicing.documents.content import DailySeries

_ZERO = Decimal(0)

FORMULAS = {
    "daily": "amount = sum over the line's days of P(q'_d) / D; quantity = sum of q'_d / D",
    "monthly_peak": "Q = the highest q'_d of the line's days; amount = P(Q) x |A| / D; "
    "quantity = Q",
    "monthly_last": "Q = q'_d of the line's last day; amount = P(Q) x |A| / D; quantity = Q",
}
"""How each counting basis turns the days into a line (q'_d = max(q_d, minimum_units), P the
pricing, |A| the line's days, D the days of the period)."""

REASONS = {
    "billing_not_enabled": "the module's billing was not enabled on this day",
    "no_contract": "the contract is not active on this day",
    "not_in_contract": "the contract's terms in force on this day do not include the service",
    "other_terms": "other terms of the contract apply on this day (another line)",
    "other_contract": "another contract with this service bills this day",
    "estimated": "no data arrived for this day; the last reported quantity was carried over",
    "no_usage": "the module reported no usage of this source on this day",
}
"""Why a day counts 0 (``estimated``: the quantity carried over was 0)."""


@dataclass(frozen=True, slots=True)
class ExplainedDay:
    day: date
    quantity: Decimal
    estimated: bool
    reason: str | None
    """Why the day counts 0 (:data:`REASONS`); None where it counts its quantity."""


@dataclass(frozen=True, slots=True)
class ExplainedSource:
    module: str
    metric: str
    days: tuple[ExplainedDay, ...]


def _reason(quantity: Decimal, estimated: bool, disabled: bool) -> str | None:
    if disabled:
        return "billing_not_enabled"
    if quantity != 0:
        return None
    return "estimated" if estimated else "no_usage"


def explained_sources(
    series: Sequence[DailySeries],
    disabled: Mapping[tuple[str, str], set[date]],
    excluded: Mapping[str, Sequence[int]],
    period_start: date,
) -> list[ExplainedSource]:
    """Per source, its days in date order: the line's days as billed, and the period's
    other days (``excluded``: day-of-month numbers by reason) at 0 with their reason."""
    others = [
        (period_start + timedelta(days=number - 1), reason)
        for reason, numbers in excluded.items()
        for number in numbers
    ]
    out = []
    for s in series:
        off = disabled.get((s.module, s.metric), set())
        days = [ExplainedDay(d, q, e, _reason(q, e, d in off)) for d, q, e in s.days]
        days += [ExplainedDay(d, _ZERO, False, reason) for d, reason in others]
        out.append(ExplainedSource(s.module, s.metric, tuple(sorted(days, key=lambda x: x.day))))
    return out


def disabled_days(stored: Sequence[Mapping[str, Any]], period_start: date) -> dict[Any, set[date]]:
    """Per source, the days its module's billing was not enabled (the daily column)."""
    return {
        (s["module"], s["metric"]): {period_start.replace(day=n) for n in s.get("disabled", ())}
        for s in stored
        if "q" in s
    }


def calculation(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The line's calculation as ``explain`` shows it: the stored one without the excluded
    days (shown on the days themselves), with the basis's formula."""
    body = {k: v for k, v in (stored or {}).items() if k != "excluded"}
    basis = body.get("counting_basis")
    if isinstance(basis, str) and basis in FORMULAS:
        body["formula"] = FORMULAS[basis]
    return body
