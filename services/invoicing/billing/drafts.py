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

from .lines import Line, ServiceTerms, Source, compute_line
from .series import DailyValue, fill_missing_days

__all__ = [
    "Contract",
    "InvoiceDraft",
    "Usage",
    "active_days",
    "compute_invoices",
    "parse_period",
]

Usage: TypeAlias = Mapping[str, Mapping[Source, Mapping[date, Decimal]]]
"""service_code -> (module, metric) -> day -> quantity summed over the company's orgs."""

_ZERO = Decimal(0)
_NOT_BILLED = DailyValue(_ZERO, estimated=False)


@dataclass(frozen=True, slots=True)
class Contract:
    """A recurring service contract of the company (ids compare as strings)."""

    contract_id: str
    name: str
    currency: str
    start_date: date
    end_date: date | None
    services: tuple[ServiceTerms, ...]


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
) -> dict[str, set[date]]:
    # A day with a record is a day the module reported, even if module_days forgot it.
    reported = {module: set(days) for module, days in module_days.items()}
    for sources in usage.values():
        for (module, _metric), values in sources.items():
            reported.setdefault(module, set()).update(values)
    return reported


def _billed(day: date, enabled_from: date | None) -> bool:
    return enabled_from is not None and enabled_from <= day


def _source_series(
    days: Sequence[date],
    values: Mapping[date, Decimal],
    reported: AbstractSet[date],
    enabled_from: date | None,
) -> dict[date, DailyValue]:
    if enabled_from is None:
        return dict.fromkeys(days, _NOT_BILLED)
    filled = fill_missing_days(days, reported, values)
    if not days or enabled_from <= days[0]:
        return filled
    return {day: filled[day] if _billed(day, enabled_from) else _NOT_BILLED for day in days}


def _owners(
    contracts: Sequence[Contract], days_of: Sequence[list[date]]
) -> dict[tuple[str, date], tuple[int, int]]:
    """(service_code, day) -> (contract index, service index) of the one that bills it."""
    owners: dict[tuple[str, date], tuple[int, int]] = {}
    for ci, contract in enumerate(contracts):
        rank = (contract.start_date, contract.contract_id)
        for si, service in enumerate(contract.services):
            for day in days_of[ci]:
                key = (service.service_code, day)
                held = owners.get(key)
                if held is None:
                    owners[key] = (ci, si)
                    continue
                held_contract = contracts[held[0]]
                # Later start wins, then the higher id; within a contract the first service.
                if rank > (held_contract.start_date, held_contract.contract_id):
                    owners[key] = (ci, si)
    return owners


def _has_quantity(series: Mapping[date, DailyValue]) -> bool:
    return any(value.quantity != 0 for value in series.values())


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
    contract's line counts the remaining days only (|A| shrinks). A line is kept when its
    amount or quantity is not 0; a source is listed on a line when it has a non-zero day.
    A currency with at least one contract active in the period gets a draft, even at 0.
    """
    period_start, period_end = parse_period(period)
    days_in_period = (period_end - period_start).days + 1
    reported = _reported_days(usage, module_days)

    by_currency: dict[str, list[Contract]] = {}
    for contract in contracts:
        if active_days(contract, period_start, period_end):
            minor_units(contract.currency)  # raises UnknownCurrency early
            by_currency.setdefault(contract.currency.upper(), []).append(contract)

    drafts: list[InvoiceDraft] = []
    for currency in sorted(by_currency):
        group = sorted(by_currency[currency], key=lambda c: (c.start_date, c.contract_id))
        days_of = [active_days(c, period_start, period_end) for c in group]
        owners = _owners(group, days_of)
        lines: list[tuple[tuple[date, str, str], Line]] = []
        for ci, contract in enumerate(group):
            for si, service in enumerate(contract.services):
                days = [d for d in days_of[ci] if owners[(service.service_code, d)] == (ci, si)]
                series = {
                    source: _source_series(
                        days,
                        values,
                        reported.get(source[0], set()),
                        billing_enabled_from.get(source[0]),
                    )
                    for source, values in usage.get(service.service_code, {}).items()
                }
                line = compute_line(
                    service,
                    days,
                    days_in_period,
                    {source: s for source, s in series.items() if _has_quantity(s)},
                    currency,
                    contract_id=contract.contract_id,
                )
                if line.amount != 0 or line.quantity != 0:
                    key = (contract.start_date, service.service_code, contract.contract_id)
                    lines.append((key, line))
        lines.sort(key=lambda item: item[0])
        with exact_context():
            subtotal = round_money(sum((line.amount for _, line in lines), _ZERO), currency)
            tax = round_money(subtotal * tax_rate, currency)
            total = subtotal + tax
        drafts.append(
            InvoiceDraft(
                currency=currency,
                period=period,
                period_start=period_start,
                period_end=period_end,
                lines=tuple(line for _, line in lines),
                subtotal=subtotal,
                tax_rate=tax_rate,
                tax=tax,
                total=total,
                contract_ids=tuple(c.contract_id for c in group),
            )
        )
    return drafts
