"""One invoice line: a contract service's quantity and amount over its active days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, NamedTuple, TypeAlias

from shared.money import QUANTITY_PLACES, divide_round, exact_context, minor_units, round_quantity

from .detail import Calculation, ExcludedReason, TierUse, tier_uses
from .pricing import Pricing, price_function
from .series import DailyValue, Series

__all__ = [
    "CountingBasis",
    "DayPoint",
    "Line",
    "ServiceTerms",
    "Source",
    "SourceDaily",
    "SourceQuantity",
    "compute_line",
    "line_of",
    "series_line",
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
    ``quantities[i]``; ``estimated`` and ``disabled`` are positions in ``dates`` (kept
    apart, as computed, since a run stores every line's series and reads few of them as
    points)."""

    module: str
    metric: str
    dates: Sequence[date]
    quantities: Sequence[Decimal]
    estimated: Sequence[int] = ()
    """The positions of the days carried forward."""
    disabled: Sequence[int] = ()
    """The positions of the days the module's billing was not enabled (they count 0)."""

    @property
    def values(self) -> list[DailyValue]:
        """The series as one :class:`DailyValue` per day."""
        return Series(list(self.quantities), self.estimated, self.disabled).values()

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
    minor_units(currency)  # raises UnknownCurrency first
    days = sorted(set(active_days))
    if len(days) > days_in_period:
        raise ValueError("more active days than days in the period")
    points = {
        source: [values.get(day, _NO_DATA) for day in days] for source, values in series.items()
    }
    return line_of(
        terms, days, days_in_period, points, currency, contract_id=contract_id, excluded=excluded
    )


def line_of(
    terms: ServiceTerms,
    days: Sequence[date],
    days_in_period: int,
    points: Mapping[Source, Sequence[DailyValue]],
    currency: str,
    *,
    contract_id: str = "",
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...] = (),
) -> Line:
    """:func:`compute_line` of ``days`` (ascending, distinct, at most ``days_in_period``) with
    each source's values given in their order."""
    series = {source: Series.of(values) for source, values in points.items()}
    return series_line(
        terms, days, days_in_period, series, currency, contract_id=contract_id, excluded=excluded
    )


def series_line(
    terms: ServiceTerms,
    days: Sequence[date],
    days_in_period: int,
    series: Mapping[Source, Series],
    currency: str,
    *,
    contract_id: str = "",
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...] = (),
) -> Line:
    """:func:`line_of` with each source's values as a :class:`Series`."""
    with exact_context():
        return exact_series_line(
            terms, days, days_in_period, series, currency, contract_id, excluded
        )


def exact_series_line(
    terms: ServiceTerms,
    days: Sequence[date],
    days_in_period: int,
    series: Mapping[Source, Series],
    currency: str,
    contract_id: str,
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...],
) -> Line:
    """:func:`series_line`, called inside :func:`~shared.money.exact_context` (a draft's
    lines share one)."""
    places = minor_units(currency)
    sources = sorted(series) if len(series) > 1 else list(series)
    quantities = [series[s].quantities for s in sources]
    priced = price_function(terms.pricing)
    q = _day_sums(quantities, len(days))
    if not days:
        zero = round_quantity(_ZERO)
        counts = _Counts(zero, divide_round(_ZERO, 1, places), [_ZERO] * len(sources), {}, False)
    elif terms.counting_basis == "daily":
        counts = _daily(terms, priced, q, quantities, days_in_period, places)
    else:
        counts = _monthly(terms, priced, q, quantities, days_in_period, places)
    quantity, amount = counts.quantity, counts.amount

    if terms.pricing.model == "per_unit":
        unit_price = terms.pricing.unit_price
    elif quantity == 0:
        unit_price = round_quantity(_ZERO)
    else:
        unit_price = divide_round(amount, quantity, QUANTITY_PLACES)

    tiers = (
        ()
        if terms.pricing.model == "per_unit"
        else tier_uses(
            terms.pricing,
            counts.counted,
            terms.counting_basis == "daily",
            len(days),
            days_in_period,
            (quantity, amount),
            currency,
        )
    )
    parts, daily = [], []
    for source, part in zip(sources, counts.sources, strict=True):
        module, metric = source
        parts.append(
            SourceQuantity(module, metric, part if part is quantity else round_quantity(part))
        )
        s = series[source]
        daily.append(SourceDaily(module, metric, days, s.quantities, s.estimated, s.disabled))
    return Line(
        terms.service_code,
        terms.name,
        quantity,
        unit_price,
        amount,
        tuple(parts),
        tuple(daily),
        contract_id,
        days[0] if days else None,
        days[-1] if days else None,
        _calculation(terms, counts.raised, len(days), days_in_period, tiers, excluded),
    )


_CALCULATIONS: dict[tuple[int, bool, int, int, object], tuple[ServiceTerms, Calculation]] = {}
"""The calculations without tiers made lately, by terms (identity) and what else they
say: they repeat from line to line and company to company, and are immutable (an entry
keeps its terms alive, so their id is not reused meanwhile)."""
MAX_CALCULATIONS = 4096


def _calculation(
    terms: ServiceTerms,
    raised: bool,
    active_days: int,
    days_in_period: int,
    tiers: tuple[TierUse, ...],
    excluded: tuple[tuple[ExcludedReason, tuple[int, ...]], ...],
) -> Calculation:
    """The line's :class:`Calculation`; one without tiers is shared by equal lines."""
    key = (id(terms), raised, active_days, days_in_period, excluded)
    found = None if tiers else _CALCULATIONS.get(key)
    if found is not None and found[0] is terms:
        return found[1]
    calculation = Calculation(
        model=terms.pricing.model,
        counting_basis=terms.counting_basis,
        unit_price=terms.pricing.unit_price,
        minimum_units=terms.minimum_units,
        minimum_applied=raised,
        active_days=active_days,
        days_in_period=days_in_period,
        tiers=tiers,
        excluded=excluded,
    )
    if not tiers:
        if len(_CALCULATIONS) >= MAX_CALCULATIONS:
            _CALCULATIONS.clear()
        _CALCULATIONS[key] = (terms, calculation)
    return calculation


class _Counts(NamedTuple):
    """A line's quantity and amount as counted (rounded), with what they came from."""

    quantity: Decimal
    amount: Decimal
    sources: list[Decimal]
    """Each source's part of the quantity, in the order of the sources."""
    counted: Mapping[Decimal, int]
    """The counted quantities (q'_d, or Q) with their number of days, for the tiers used
    (``per_unit`` has none: it may leave this empty)."""
    raised: bool
    """Some counted day (or Q) was raised to the minimum."""


Priced: TypeAlias = Callable[[Decimal], Decimal]


def _daily(
    terms: ServiceTerms,
    priced: Priced,
    q: list[Decimal],
    quantities: list[list[Decimal]],
    days_in_period: int,
    places: int,
) -> _Counts:
    """``daily``: quantity = sum q'_d / D, amount = sum P(q'_d) / D; a source's part is its
    own sum / D."""
    minimum = terms.minimum_units
    low = min(q)
    raised = low < minimum
    own = sum(q, _ZERO)  # q_d summed (the sources' together)
    pricing = terms.pricing
    counted: Mapping[Decimal, int]
    if pricing.model == "per_unit" and not raised and low >= 0 and own.is_finite():
        # P is linear: the days' sum priced at once (and no tiers to show)
        units, total, counted = own, own * pricing.unit_price, {}
    else:
        counted = Counter(q)  # a month repeats a few quantities: each is priced once
        if raised:
            counted = _raised(counted, minimum)
        units = _total(counted) if raised else own
        total = sum((priced(x) * n for x, n in counted.items()), _ZERO)
    quantity = divide_round(units, days_in_period, QUANTITY_PLACES)
    amount = divide_round(total, days_in_period, places)
    if len(quantities) == 1:
        parts = [divide_round(own, days_in_period, QUANTITY_PLACES) if raised else quantity]
    else:
        parts = [divide_round(sum(s, _ZERO), days_in_period, QUANTITY_PLACES) for s in quantities]
    return _Counts(quantity, amount, parts, counted, minimum > 0 and raised)


def _monthly(
    terms: ServiceTerms,
    priced: Priced,
    q: list[Decimal],
    quantities: list[list[Decimal]],
    days_in_period: int,
    places: int,
) -> _Counts:
    """``monthly_peak`` / ``monthly_last``: Q = max q'_d (its first day) or q'_d of the last
    day, amount = P(Q) x |A| / D; a source's part is its quantity that day."""
    minimum = terms.minimum_units
    q_min = q if min(q) >= minimum else [max(x, minimum) for x in q]
    if terms.counting_basis == "monthly_peak":
        index = q_min.index(max(q_min))  # the first day of the peak
    elif terms.counting_basis == "monthly_last":
        index = len(q_min) - 1
    else:
        raise ValueError(f"unknown counting basis {terms.counting_basis!r}")
    peak_or_last = q_min[index]
    return _Counts(
        round_quantity(peak_or_last),
        divide_round(priced(peak_or_last) * len(q), days_in_period, places),
        [s[index] for s in quantities],
        {peak_or_last: 1},
        q[index] < minimum,
    )


def _day_sums(quantities: list[list[Decimal]], days: int) -> list[Decimal]:
    """q_d: the sources' quantities of each of ``days`` days added up (exact)."""
    if len(quantities) == 1:
        return quantities[0]
    if not quantities:
        return [_ZERO] * days
    return [sum(day, _ZERO) for day in zip(*quantities, strict=True)]


def _total(counts: Mapping[Decimal, int]) -> Decimal:
    """The sum of the quantities counted ``n`` times each (exact)."""
    return sum((x * n for x, n in counts.items()), _ZERO)


def _raised(counts: Mapping[Decimal, int], minimum: Decimal) -> Counter[Decimal]:
    """``counts`` with each quantity below ``minimum`` counted as ``minimum``."""
    out: Counter[Decimal] = Counter()
    for x, n in counts.items():
        out[max(x, minimum)] += n
    return out
