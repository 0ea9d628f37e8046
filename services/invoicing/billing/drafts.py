"""Invoice drafts of one company for one period: one per currency, all contracts consolidated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeAlias

from shared.money import exact_context, minor_units, round_money
from shared.wire import period_days

from .detail import ExcludedReason
from .lines import Line, ServiceTerms, Source, exact_series_line
from .series import DaySeries, Series, filled_series, reported_series

__all__ = [
    "Contract",
    "ContractVersion",
    "InvoiceDraft",
    "Usage",
    "active_days",
    "compute_invoices",
    "parse_period",
]

Usage: TypeAlias = Mapping[str, Mapping[Source, Mapping[date, Decimal]]]
"""service_code -> (module, metric) -> day -> quantity summed over the company's orgs."""

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """The service terms of a contract from ``effective_from`` on (an amendment)."""

    effective_from: date
    services: tuple[ServiceTerms, ...]


@dataclass(frozen=True, slots=True)
class Contract:
    """A recurring service contract of the company (ids compare as strings).

    ``services`` are the terms from ``start_date`` on; each of ``amendments`` replaces them
    from its ``effective_from`` on: on day d the terms in force are those of the version with
    the greatest ``effective_from`` <= d (PRODUCT.md section 10)."""

    contract_id: str
    name: str
    currency: str
    start_date: date
    end_date: date | None
    services: tuple[ServiceTerms, ...]
    amendments: tuple[ContractVersion, ...] = ()

    def terms_by_day(self, days: Sequence[date]) -> list[tuple[ServiceTerms, ...]]:
        """The services in force on each of ``days`` (ascending)."""
        if not self.amendments:
            return [self.services] * len(days)
        versions = sorted(self.amendments, key=lambda v: v.effective_from)
        out = []
        current, k = self.services, 0
        for day in days:
            while k < len(versions) and versions[k].effective_from <= day:
                current = versions[k].services
                k += 1
            out.append(current)
        return out


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """The computed invoice of one currency; ``subtotal``, ``tax`` and ``total`` are rounded."""

    currency: str
    period: str
    period_start: date
    period_end: date
    lines: tuple[Line, ...]
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    contract_ids: tuple[str, ...]
    """The contracts active in the period, in line order."""


def parse_period(period: str) -> tuple[date, date]:
    """First and last day of the calendar month ``"YYYY-MM"``."""
    try:
        return period_days(period)
    except ValueError:
        raise ValueError(f"period must be 'YYYY-MM', got {period!r}") from None


def active_days(contract: Contract, period_start: date, period_end: date) -> list[date]:
    """The days of [period_start, period_end] with start_date <= day <= end_date (if any)."""
    first = max(contract.start_date, period_start)
    last = period_end if contract.end_date is None else min(contract.end_date, period_end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _reported_days(
    usage: Usage, module_days: Mapping[str, AbstractSet[date]]
) -> dict[str, AbstractSet[date]]:
    # A day with a record is a day the module reported, even if module_days forgot it.
    reported = dict(module_days)  # shared: replaced, never changed, where a record adds a day
    for sources in usage.values():
        for (module, _metric), values in sources.items():
            known = reported.get(module, frozenset())
            if not known >= values.keys():
                reported[module] = {*known, *values}
    return reported


def _source_series(
    days: Sequence[date],
    values: Mapping[date, Decimal],
    reported: AbstractSet[date] | None,
    enabled_from: date | None,
) -> Series:
    """The values of one source on each of ``days`` (in their order), filled over the
    ``reported`` days of its module (None: it reported all of ``days``); a day before
    ``enabled_from`` (every day, when it is None) counts 0, not estimated."""
    if enabled_from is None:
        return Series([_ZERO] * len(days), (), range(len(days)))
    if reported is not None:
        filled = filled_series(days, reported, values)
    else:
        run = _reported_run(days, values)
        filled = reported_series(days, values) if run is None else run
    if not days or enabled_from <= days[0]:
        return filled
    off = [i for i, day in enumerate(days) if day < enabled_from]
    if not off:
        return filled
    quantities = filled.quantities
    for i in off:
        quantities[i] = _ZERO
    disabled = set(off)
    return Series(quantities, [i for i in filled.estimated if i not in disabled], off)


def _reported_run(days: Sequence[date], values: Mapping[date, Decimal]) -> Series | None:
    """:func:`reported_series` of ``days`` (ascending, distinct) as a slice of ``values``,
    when they are a plain :class:`DaySeries` with all of them (None: not so)."""
    if type(values) is not DaySeries or not values.plain or not days:
        return None
    if (days[-1] - days[0]).days != len(days) - 1:  # not consecutive
        return None
    quantities = values.run(days[0], len(days))
    return None if quantities is None else Series(quantities)


_Terms = dict[str, ServiceTerms]
"""service_code -> its terms in force on one day"""


def _terms_of(contract: Contract, days: Sequence[date]) -> list[_Terms]:
    """Per day, the services in force by code (the first of a code wins)."""
    parsed: dict[int, _Terms] = {}
    out = []
    for version in contract.terms_by_day(days):
        terms = parsed.get(id(version))
        if terms is None:
            terms = parsed[id(version)] = {s.service_code: s for s in reversed(version)}
        out.append(terms)
    return out


def _owners(
    contracts: Sequence[Contract], days_of: Sequence[list[date]], terms_of: Sequence[list[_Terms]]
) -> dict[tuple[str, date], int]:
    """(service_code, day) -> the index of the contract that bills it, where several
    contracts carry the service that day (absent: the one that carries it)."""
    owners: dict[tuple[str, date], int] = {}
    if len(contracts) == 1:
        return owners
    for ci, contract in enumerate(contracts):
        rank = (contract.start_date, contract.contract_id)
        for day, terms in zip(days_of[ci], terms_of[ci], strict=True):
            for code in terms:
                key = (code, day)
                held = owners.get(key)
                # Later start wins, then the higher id.
                if held is None or rank > (contracts[held].start_date, contracts[held].contract_id):
                    owners[key] = ci
    return owners


def _same_terms(a: ServiceTerms, b: ServiceTerms) -> bool:
    """Terms that bill alike (the name alone does not split a line)."""
    return a is b or (
        a.pricing == b.pricing
        and a.counting_basis == b.counting_basis
        and a.minimum_units == b.minimum_units
    )


def _segments(
    code: str,
    ci: int,
    days: list[date],
    terms: Sequence[_Terms],
    owners: Mapping[tuple[str, date], int],
    sole: bool = False,
) -> list[tuple[ServiceTerms, list[date]]]:
    """The runs of constant terms of service ``code`` over the contract's days it bills.
    ``sole``: the contract is alone in its currency and its terms are one object on all its
    days (the usual case), so the run is all of them."""
    out: list[tuple[ServiceTerms, list[date]]] = []
    if sole and terms:  # one contract with one set of terms over all its days
        service = terms[0].get(code)
        return [] if service is None else [(service, days)]  # shared by its lines
    for day, in_force in zip(days, terms, strict=True):
        service = in_force.get(code)
        if service is None or owners.get((code, day), ci) != ci:
            continue
        if out and _same_terms(out[-1][0], service):
            out[-1] = (service, out[-1][1])  # the latest name describes the line
            out[-1][1].append(day)
        else:
            out.append((service, [day]))
    return out


def _excluded(
    code: str,
    ci: int,
    line_days: Sequence[date],
    period_start: date,
    days_in_period: int,
    terms_by_day: Mapping[date, _Terms],
    owners: Mapping[tuple[str, date], int],
) -> tuple[tuple[ExcludedReason, tuple[int, ...]], ...]:
    """The days of the period that are not the line's, by reason (for its explanation)."""
    if len(line_days) == days_in_period:
        return ()
    mine = set(line_days)
    found: dict[ExcludedReason, list[int]] = {}
    for day in (period_start + timedelta(days=i) for i in range(days_in_period)):
        if day in mine:
            continue
        in_force = terms_by_day.get(day)
        reason: ExcludedReason
        if in_force is None:
            reason = "no_contract"
        elif code not in in_force:
            reason = "not_in_contract"
        elif owners.get((code, day), ci) != ci:
            reason = "other_contract"
        else:
            reason = "other_terms"
        found.setdefault(reason, []).append(day.day)
    return tuple((reason, tuple(days)) for reason, days in found.items())


def compute_invoices(
    period: str,
    contracts: Iterable[Contract],
    tax_rate: Decimal,
    usage: Usage,
    module_days: Mapping[str, AbstractSet[date]],
    billing_enabled_from: Mapping[str, date | None],
) -> list[InvoiceDraft]:
    """The invoice drafts of one company for ``period``, one per currency, sorted by currency.

    - ``usage``: per service code and ``(module, metric)`` source, the company's daily
      quantities (orgs already mapped and summed, service mappings already resolved), from
      3 days before the period start so missing days carry over the month boundary.
    - ``module_days``: per module, the days it sent any record for the tenant (a day with a
      record in ``usage`` counts as reported too).
    - ``billing_enabled_from``: per module, the first billed day; ``None`` or absent means
      billing is disabled, and such a source's days count 0.

    Missing days are filled per source (:func:`fill_missing_days`) before enablement applies.
    Overlapping contracts: when two active contracts of the same currency carry the same
    ``service_code`` on the same day, that day is billed only by the contract with the latest
    ``start_date``, then the highest ``contract_id``, so no day is billed twice; the other
    contract's line counts the remaining days only (|A| shrinks). Contract versions: a
    service is billed in one line per run of its days with the same terms in force (pricing,
    counting basis, minimum), each over its own days with D unchanged, carrying its first
    and last day and, for its explanation, the period's other days with the reason they are
    not the line's. A line is kept when its amount or quantity is not 0; a source is listed
    on a line when it has a non-zero day.
    A currency with at least one contract active in the period gets a draft, even at 0.
    """
    period_start, period_end = parse_period(period)
    days_in_period = (period_end - period_start).days + 1

    by_currency: dict[str, list[tuple[Contract, list[date]]]] = {}
    for contract in contracts:
        days = active_days(contract, period_start, period_end)
        if days:
            minor_units(contract.currency)  # raises UnknownCurrency early
            by_currency.setdefault(contract.currency.upper(), []).append((contract, days))

    drafts: list[InvoiceDraft] = []
    for currency in sorted(by_currency):
        active = sorted(by_currency[currency], key=lambda c: (c[0].start_date, c[0].contract_id))
        group = [contract for contract, _ in active]
        days_of = [days for _, days in active]
        with exact_context():
            lines = _currency_lines(
                currency,
                group,
                days_of,
                _Usage(usage, module_days, billing_enabled_from),
                period_start,
                days_in_period,
            )
            subtotal = round_money(sum((line.amount for line in lines), _ZERO), currency)
            tax = round_money(subtotal * tax_rate, currency)
            total = subtotal + tax
        drafts.append(
            InvoiceDraft(
                currency=currency,
                period=period,
                period_start=period_start,
                period_end=period_end,
                lines=tuple(lines),
                subtotal=subtotal,
                tax_rate=tax_rate,
                tax=tax,
                total=total,
                contract_ids=tuple(c.contract_id for c in group),
            )
        )
    return drafts


class _Usage:
    """A company's usage with the days each module reported and its first billed day."""

    def __init__(
        self,
        by_code: Usage,
        module_days: Mapping[str, AbstractSet[date]],
        enabled_from: Mapping[str, date | None],
    ) -> None:
        self.by_code = by_code
        self.module_days = module_days
        self.enabled_from = enabled_from
        self._reported: dict[str, AbstractSet[date]] | None = None
        self._covers: dict[tuple[str, int], tuple[Sequence[date], bool]] = {}

    def points(self, code: str, days: Sequence[date]) -> dict[Source, Series]:
        """The series of each source of ``code`` over ``days`` that has a non-zero day."""
        points = {}
        for source, values in self.by_code.get(code, {}).items():
            module = source[0]
            series = _source_series(
                days, values, self.reported(module, days), self.enabled_from.get(module)
            )
            if any(series.quantities):
                points[source] = series
        return points

    def reported(self, module: str, days: Sequence[date]) -> AbstractSet[date] | None:
        """The days ``module`` reported, for filling ``days``; None when its module days
        hold all of ``days`` (no day to fill: the usual case)."""
        key = (module, id(days))  # the entry keeps ``days`` alive: its id is not reused
        found = self._covers.get(key)
        if found is None or found[0] is not days:
            known = self.module_days.get(module, frozenset())
            found = self._covers[key] = (days, all(map(known.__contains__, days)))
        if found[1]:
            return None
        if self._reported is None:
            self._reported = _reported_days(self.by_code, self.module_days)
        return self._reported.get(module, frozenset())


def _currency_lines(
    currency: str,
    group: Sequence[Contract],
    days_of: Sequence[list[date]],
    usage: _Usage,
    period_start: date,
    days_in_period: int,
) -> list[Line]:
    """The lines of the contracts ``group`` (of one currency, active on ``days_of``), in
    invoice order; called inside :func:`~shared.money.exact_context`."""
    terms_of = [_terms_of(c, days) for c, days in zip(group, days_of, strict=True)]
    owners = _owners(group, days_of, terms_of)
    lines: list[tuple[tuple[date, str, str, date], Line]] = []
    for ci, contract in enumerate(group):
        versions = list({id(terms): terms for terms in terms_of[ci]}.values())
        codes = dict.fromkeys(code for terms in versions for code in terms)
        by_day = dict(zip(days_of[ci], terms_of[ci], strict=True))
        sole = len(group) == 1 and len(versions) == 1
        for code in codes:
            for service, days in _segments(code, ci, days_of[ci], terms_of[ci], owners, sole):
                line = exact_series_line(
                    service,
                    days,
                    days_in_period,
                    usage.points(code, days),
                    currency,
                    contract.contract_id,
                    _excluded(code, ci, days, period_start, days_in_period, by_day, owners),
                )
                if line.amount != 0 or line.quantity != 0:
                    key = (contract.start_date, code, contract.contract_id, days[0])
                    lines.append((key, line))
    lines.sort(key=lambda item: item[0])
    return [line for _, line in lines]
