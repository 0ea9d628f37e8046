"""Correction documents: what a posted period owes now, minus what was already invoiced.

A posted invoice never changes. When a billing run recomputes a posted period and finds
other lines (late usage, a mapping made later, a contract change), the difference to the
posted invoice plus every posted correction of it becomes one correction document:

- one line per contract service whose quantity or amount differs, carrying both deltas,
  the per-source quantity deltas, and the recomputed daily series (for explanations); a
  service billed in segments (contract versions) is compared as a whole, its correction line
  spanning the segments, its calculation the invoiced and recomputed totals and each
  recomputed segment's calculation;
- tax on the difference: the delta subtotal times the corrected invoice's tax rate (the
  rate the period was invoiced at), rounded half-up to the currency's minor unit;
- ``adjustment`` when the total is positive or 0, ``credit_note`` when it is negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from services.invoicing.documents.content import EMPTY, Content, SourceAmount, StoredLine
from services.invoicing.documents.formatting import money
from services.invoicing.documents.formatting import quantity as shown_quantity
from services.invoicing.documents.lifecycle import InvoiceKind
from shared.money import exact_context, round_money, round_quantity

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Correction:
    kind: InvoiceKind
    """``adjustment`` or ``credit_note``."""
    content: Content


@dataclass(slots=True)
class _Invoiced:
    """What the documents so far say about one contract service."""

    description: str
    unit_price: Decimal
    quantity: Decimal = _ZERO
    amount: Decimal = _ZERO
    sources: dict[tuple[str, str], Decimal] = field(default_factory=dict)


def _invoiced(lines: Iterable[StoredLine]) -> dict[tuple[str, str], _Invoiced]:
    out: dict[tuple[str, str], _Invoiced] = {}
    for line in lines:
        seen = out.setdefault(line.key, _Invoiced(line.description, line.unit_price))
        seen.quantity += line.quantity
        seen.amount += line.amount
        for s in line.sources:
            key = (s.module, s.metric)
            seen.sources[key] = seen.sources.get(key, _ZERO) + s.quantity
    return out


_SERIES_KEYS: dict[str, Any] = {"days": [], "q": [], "estimated": []}


def _merged_daily(lines: Sequence[StoredLine]) -> str:
    """The daily series of a service's segments as one: per source, their days in order."""
    if len(lines) == 1:
        return lines[0].daily
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        for s in orjson.loads(line.daily):
            into = merged.setdefault(
                (s["module"], s["metric"]),
                {
                    "module": s["module"],
                    "metric": s["metric"],
                    "days": [],
                    "q": [],
                    "estimated": [],
                },
            )
            for name in ("days", "q", "estimated"):
                into[name] = into[name] + s[name]
            if s.get("disabled"):
                into["disabled"] = into.get("disabled", []) + s["disabled"]
    return orjson.dumps(list(merged.values())).decode()


def _totals(q: Decimal, amount: Decimal, currency: str) -> dict[str, str]:
    return {"quantity": str(shown_quantity(q)), "amount": str(money(amount, currency))}


def _delta_line(
    now: Sequence[StoredLine], before: _Invoiced | None, key: tuple[str, str], currency: str
) -> StoredLine | None:
    now_quantity = sum((line.quantity for line in now), _ZERO)
    now_amount = sum((line.amount for line in now), _ZERO)
    quantity = round_quantity(now_quantity - (before.quantity if before else _ZERO))
    amount = round_money(now_amount - (before.amount if before else _ZERO), currency)
    if quantity == 0 and amount == 0:
        return None
    sources = {source: -q for source, q in before.sources.items()} if before else {}
    for line in now:
        for s in line.sources:
            source = (s.module, s.metric)
            sources[source] = sources.get(source, _ZERO) + s.quantity
    label = now[-1] if now else before
    assert label is not None
    calculation = {
        "difference": {
            "invoiced": _totals(before.quantity, before.amount, currency)
            if before
            else _totals(_ZERO, _ZERO, currency),
            "recomputed": _totals(now_quantity, now_amount, currency),
        },
        "recomputed": [orjson.loads(line.calculation) for line in now],
    }
    starts = [line.period_start for line in now if line.period_start is not None]
    ends = [line.period_end for line in now if line.period_end is not None]
    return StoredLine(
        contract_id=key[0],
        service_code=key[1],
        description=label.description,
        quantity=quantity,
        unit_price=label.unit_price,
        amount=amount,
        sources=tuple(
            SourceAmount(m, x, round_quantity(q)) for (m, x), q in sorted(sources.items()) if q != 0
        ),
        daily=_merged_daily(now) if now else "[]",
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends else None,
        calculation=orjson.dumps(calculation).decode(),
    )


def correction(
    recomputed: Content | None, invoiced: Iterable[StoredLine], tax_rate: Decimal, currency: str
) -> Correction | None:
    """The correction that brings the invoiced lines to ``recomputed`` (None: the period no
    longer bills anything), or None when no line differs."""
    now = recomputed or EMPTY
    before = _invoiced(invoiced)
    current: dict[tuple[str, str], list[StoredLine]] = {}
    for segment in now.lines:
        current.setdefault(segment.key, []).append(segment)
    keys = [*current, *(key for key in before if key not in current)]
    with exact_context():
        lines = tuple(
            line
            for key in keys
            if (line := _delta_line(current.get(key, []), before.get(key), key, currency))
        )
        if not lines:
            return None
        subtotal = round_money(sum((line.amount for line in lines), _ZERO), currency)
        tax = round_money(subtotal * tax_rate, currency)
        total = subtotal + tax
    kind = InvoiceKind.CREDIT_NOTE if total < 0 else InvoiceKind.ADJUSTMENT
    return Correction(kind, Content(subtotal, tax_rate, tax, total, lines))
