"""One invoice line: a contract service's quantity and amount over its active days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, NamedTuple, TypeAlias

from shared.money import QUANTITY_PLACES, divide_round, exact_context, minor_units, round_quantity

from .detail import Calculation, ExcludedReason, tier_uses
from .pricing import Pricing, price_function
from .series import DailyValue

__all__ = [
    "CountingBasis",
    "DayPoint",
    "Line",
    "ServiceTerms",
    "Source",
    "SourceDaily",
    "SourceQuantity",
    "compute_line",
]

CountingBasis: TypeAlias = Literal["daily", "monthly_peak", "monthly_last"]
Source: TypeAlias = tuple[str, str]
"""``(module, metric)``"""

_ZERO = Decimal(0)
_NO_DATA = DailyValue(_ZERO, estimated=False)


@dataclass(frozen=True, slots=True)
class ServiceTerms:
    """A priced service of a contract."""

    service_code: str
    name: str
    pricing: Pricing
    counting_basis: CountingBasis = "daily"
    minimum_units: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class SourceQuantity:
    """The part of a line's quantity that comes from one ``(module, metric)``."""

    module: str
    metric: str
    quantity: Decimal


class DayPoint(NamedTuple):
    """One day of a source's series, for the explanation of a line."""

    day: date
    quantity: Decimal
    estimated: bool
    billed: bool = True


@dataclass(frozen=True, slots=True)
class SourceDaily:
    """The daily series of one source over the line's active days: ``dates[i]`` has
    ``values[i]`` (kept apart, as computed, since a run stores every line's series and
    reads few of them as points)."""

    module: str
    metric: str
    dates: Sequence[date]
    values: Sequence[DailyValue]

    @property
    def days(self) -> tuple[DayPoint, ...]:
        return tuple(
            DayPoint(day, v.quantity, v.estimated, v.billed)
            for day, v in zip(self.dates, self.values, strict=True)
        )


@dataclass(frozen=True, slots=True)
class Line:
    """A computed invoice line. ``amount`` is rounded to the currency, ``quantity`` to 4 digits.

    ``unit_price`` is the pricing's ``unit_price`` for ``per_unit``; for ``graduated`` and
    ``volume`` it is the effective price ``amount / quantity`` of the shown (rounded) values,
    rounded half-up to 4 digits, and 0 when the quantity is 0. Where ``quantity x
    unit_price`` does not round to ``amount``, ``calculation`` says why.
    ``period_start``/``period_end``: the first and last of the line's days (its segment).
    """

    service_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    sources: tuple[SourceQuantity, ...]
    daily: tuple[SourceDaily, ...]
    contract_id: str = ""
    period_start: date | None = None
    period_end: date | None = None
    calculation: Calculation | None = None


def compute_line(
    terms: ServiceTerms,
    active_days: Sequence[date],
    days_in_period: int,
    series: Mapping[Source, Mapping[date, DailyValue]],
    currency: str,
    *,
    contract_id: str = "",
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...] = (),
) -> Line:
    """The line of ``terms`` for a period of ``days_in_period`` days (D).

    ``active_days`` (A) are the days of the period this service is billed on; ``series`` holds
    per source the (already filled, already enablement-filtered) quantity of each day of A,
    a missing day counting 0. With q_d the sum over sources and q'_d = max(q_d, minimum):

    - ``daily``: amount = sum_{d in A} P(q'_d) / D, quantity = sum_{d in A} q'_d / D
    - ``monthly_peak``: Q = max q'_d, amount = P(Q) x |A| / D, quantity = Q
    - ``monthly_last``: Q = q'_d of the last day of A, amount = P(Q) x |A| / D, quantity = Q

    Only the final amount (currency minor unit) and quantity (4 digits) are rounded, half-up.
    A source's quantity is, per basis, its own sum / D, its quantity on the first day of the
    peak, or its quantity on the last day of A. ``excluded``: the days of the period that
    are not in A and why, for the line's :class:`Calculation`.
    """
    if days_in_period <= 0:
        raise ValueError("days_in_period must be positive")
    places = minor_units(currency)
    days = sorted(set(active_days))
    if len(days) > days_in_period:
        raise ValueError("more active days than days in the period")
    sources = sorted(series)
    points = {source: [series[source].get(day, _NO_DATA) for day in days] for source in sources}

    priced = price_function(terms.pricing)
    with exact_context():
        if len(sources) == 1:
            q = [p.quantity for p in points[sources[0]]]
        else:
            q = [sum((points[s][i].quantity for s in sources), _ZERO) for i in range(len(days))]
        q_min = (
            q
            if not q or min(q) >= terms.minimum_units
            else [max(x, terms.minimum_units) for x in q]
        )
        counted: list[Decimal] = []
        if not days:
            quantity = round_quantity(_ZERO)
            amount = divide_round(_ZERO, 1, places)
            source_quantities = dict.fromkeys(sources, _ZERO)
            raised = False
        elif terms.counting_basis == "daily":
            quantity = divide_round(sum(q_min, _ZERO), days_in_period, QUANTITY_PLACES)
            # Exact arithmetic: each distinct quantity priced once, times its days.
            total = sum((priced(x) * n for x, n in Counter(q_min).items()), _ZERO)
            amount = divide_round(total, days_in_period, places)
            source_quantities = {
                s: divide_round(
                    sum((p.quantity for p in points[s]), _ZERO), days_in_period, QUANTITY_PLACES
                )
                for s in sources
            }
            counted = q_min
            raised = terms.minimum_units > 0 and any(x < terms.minimum_units for x in q)
        else:
            if terms.counting_basis == "monthly_peak":
                index = q_min.index(max(q_min))  # the first day of the peak
            elif terms.counting_basis == "monthly_last":
                index = len(days) - 1
            else:
                raise ValueError(f"unknown counting basis {terms.counting_basis!r}")
            peak_or_last = q_min[index]
            quantity = round_quantity(peak_or_last)
            amount = divide_round(priced(peak_or_last) * len(days), days_in_period, places)
            source_quantities = {s: points[s][index].quantity for s in sources}
            counted = [peak_or_last]
            raised = q[index] < terms.minimum_units

    if terms.pricing.model == "per_unit":
        unit_price = terms.pricing.unit_price
    elif quantity == 0:
        unit_price = round_quantity(_ZERO)
    else:
        unit_price = divide_round(amount, quantity, QUANTITY_PLACES)

    calculation = Calculation(
        model=terms.pricing.model,
        counting_basis=terms.counting_basis,
        unit_price=terms.pricing.unit_price,
        minimum_units=terms.minimum_units,
        minimum_applied=raised,
        active_days=len(days),
        days_in_period=days_in_period,
        tiers=tier_uses(
            terms.pricing,
            counted,
            terms.counting_basis == "daily",
            len(days),
            days_in_period,
            (quantity, amount),
            currency,
        ),
        excluded=excluded,
    )
    return Line(
        service_code=terms.service_code,
        description=terms.name,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        sources=tuple(
            SourceQuantity(module, metric, round_quantity(source_quantities[(module, metric)]))
            for module, metric in sources
        ),
        daily=tuple(
            SourceDaily(module, metric, days, points[(module, metric)])
            for module, metric in sources
        ),
        contract_id=contract_id,
        period_start=days[0] if days else None,
        period_end=days[-1] if days else None,
        calculation=calculation,
    )
