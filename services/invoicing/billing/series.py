"""Missing days: carry a module's last reported quantities over a failed sync.

If a module sent no record at all for the tenant on day d but did on an earlier day e with
d - e <= 3 days, every quantity of the module on d is the one of e, marked *estimated*. On a
day the module did report, a source (``(module, metric)``, or an org of it) without a record
counts 0. A record received later for an estimated day makes that day a reported one, so the
late record replaces the estimate the next time the series is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from decimal import Decimal
from itertools import repeat
from typing import NamedTuple

__all__ = [
    "MAX_CARRIED_DAYS",
    "DailyValue",
    "DaySeries",
    "Series",
    "day_series",
    "fill_missing_days",
    "filled_series",
    "filled_values",
    "last_reported_day",
    "reported_series",
]

MAX_CARRIED_DAYS = 3
"""A module's data is carried forward over at most this many consecutive missing days."""

_ZERO = Decimal(0)


class DailyValue(NamedTuple):
    """The quantity of one source on one day; ``estimated`` when carried forward, not
    ``billed`` when the module's billing was not enabled that day (it counts 0 then). A named
    tuple: a month of them per source is made for every line of a run."""

    quantity: Decimal
    estimated: bool = False
    billed: bool = True


class Series(NamedTuple):
    """A source's values on a list of days, as plain quantities: ``quantities[i]`` is the
    quantity of the i-th day, ``estimated`` and ``disabled`` the (ascending) positions of
    the days that were carried forward and of those whose module's billing was not enabled.
    The same as a list of :class:`DailyValue`, without an object per day."""

    quantities: list[Decimal]
    estimated: Sequence[int] = ()
    disabled: Sequence[int] = ()

    @classmethod
    def of(cls, values: Sequence[DailyValue]) -> Series:
        """The series of a list of :class:`DailyValue`."""
        return cls(
            [v.quantity for v in values],
            [i for i, v in enumerate(values) if v.estimated],
            [i for i, v in enumerate(values) if not v.billed],
        )

    def values(self) -> list[DailyValue]:
        """The series as a list of :class:`DailyValue`."""
        estimated, disabled = set(self.estimated), set(self.disabled)
        return [
            DailyValue(q, i in estimated, i not in disabled) for i, q in enumerate(self.quantities)
        ]


class DaySeries(dict[date, Decimal]):
    """A source's quantities by day over consecutive days, each with a record, kept as a
    list too: ``quantities[i]`` is the quantity of ``first + i days``. Made by
    :func:`day_series`, never changed: filling a run of its days takes a slice of the list
    instead of looking each day up. ``plain``: equal quantities print alike (no ``0``
    beside ``0.0000``), so which of them a series shows makes no difference."""

    __slots__ = ("first", "plain", "quantities")
    first: date
    plain: bool
    quantities: list[Decimal]

    def run(self, first: date, length: int) -> list[Decimal] | None:
        """The quantities of ``length`` consecutive days from ``first``, when it has them
        all."""
        start = (first - self.first).days
        if start < 0 or start + length > len(self.quantities):
            return None
        return self.quantities[start : start + length]


def day_series(
    pairs: Sequence[tuple[date, Decimal]], quantities: list[Decimal], plain: bool
) -> DaySeries:
    """The :class:`DaySeries` of ``pairs``, ``(day, quantity)`` of consecutive days in
    order (the caller has checked it), whose quantities are ``quantities``."""
    values = DaySeries(pairs)
    values.first = pairs[0][0]
    values.quantities = quantities
    values.plain = plain
    return values


def last_reported_day(day: date, reported_days: AbstractSet[date]) -> date | None:
    """The latest day e < ``day`` the module reported with day - e <= 3, if any."""
    for back in range(1, MAX_CARRIED_DAYS + 1):
        earlier = day - timedelta(days=back)
        if earlier in reported_days:
            return earlier
    return None


def fill_missing_days(
    days: Iterable[date],
    reported_days: AbstractSet[date],
    values: Mapping[date, Decimal],
) -> dict[date, DailyValue]:
    """The quantity of one source on each of ``days``.

    ``reported_days``: the days on which the source's module sent any record for the tenant.
    ``values``: the source's quantities on (some of) those days; a reported day without an
    entry counts 0, and a day with an entry counts as reported. Both must reach 3 days
    before the first of ``days`` for carry-forward across the start of a period.
    """
    days = list(days)
    return dict(zip(days, filled_values(days, reported_days, values), strict=True))


def filled_values(
    days: Sequence[date],
    reported_days: AbstractSet[date],
    values: Mapping[date, Decimal],
) -> list[DailyValue]:
    """:func:`fill_missing_days` as a list, in the order of ``days``."""
    reported = reported_days if reported_days >= values.keys() else {*reported_days, *values}
    # A month repeats a few quantities: equal values share one (immutable) DailyValue, the
    # first made (of a reported day, or carried forward).
    made: dict[Decimal, DailyValue] = {}
    if all(map(reported.__contains__, days)):  # the usual case: the module reported every day
        quantities = map(values.get, days, repeat(_ZERO))
        return [made.get(q) or made.setdefault(q, DailyValue(q)) for q in quantities]
    carried: dict[Decimal, DailyValue] = {}
    result = []
    for day in days:
        if day in reported:
            q, shared = values.get(day, _ZERO), made
        else:
            source_day = last_reported_day(day, reported)
            if source_day is None:
                q, shared = _ZERO, made
            else:
                q, shared = values.get(source_day, _ZERO), carried
        value = shared.get(q)
        if value is None:
            value = shared[q] = DailyValue(q, shared is carried)
        result.append(value)
    return result


def filled_series(
    days: Sequence[date],
    reported_days: AbstractSet[date],
    values: Mapping[date, Decimal],
) -> Series:
    """:func:`filled_values` as a :class:`Series` (nothing disabled): the same quantities,
    equal ones of reported days (and equal ones carried forward) the first made."""
    if all(map(reported_days.__contains__, days)):  # the usual case
        return reported_series(days, values)
    reported = reported_days if reported_days >= values.keys() else {*reported_days, *values}
    made: dict[Decimal, Decimal] = {}
    carried: dict[Decimal, Decimal] = {}
    quantities, estimated = [], []
    for i, day in enumerate(days):
        if day in reported:
            q = values.get(day, _ZERO)
            q = made.setdefault(q, q)
        else:
            source_day = last_reported_day(day, reported)
            if source_day is None:
                q = made.setdefault(_ZERO, _ZERO)
            else:
                q = values.get(source_day, _ZERO)
                q = carried.setdefault(q, q)
                estimated.append(i)
        quantities.append(q)
    return Series(quantities, estimated)


def reported_series(days: Sequence[date], values: Mapping[date, Decimal]) -> Series:
    """:func:`filled_series` of ``days`` that the module all reported on."""
    return Series(_first_made(list(map(values.get, days, repeat(_ZERO)))))


def _first_made(quantities: list[Decimal]) -> list[Decimal]:
    """``quantities`` with each value replaced by the first equal one (in place): equal
    decimals may differ in how they print (``0`` and ``0.0000``), and a series shows the
    first. Runs of one object, the usual case, are looked up once."""
    first: dict[Decimal, Decimal] = {}
    previous: Decimal | None = None
    shown = _ZERO
    for i, q in enumerate(quantities):
        if q is not previous:
            previous, shown = q, first.setdefault(q, q)
        if shown is not q:
            quantities[i] = shown
    return quantities
