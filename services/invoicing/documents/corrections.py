"""Correction documents: what a posted period owes now, minus what was already invoiced.

A posted invoice never changes. When a billing run recomputes a posted period and finds
other lines (late usage, a mapping made later, a contract change), the difference to the
posted invoice plus every posted correction of it becomes one correction document:

- one line per contract service whose quantity or amount differs, carrying both deltas,
  the per-source quantity deltas, and the recomputed daily series (for explanations);
- tax on the difference: the delta subtotal times the corrected invoice's tax rate (the
  rate the period was invoiced at), rounded half-up to the currency's minor unit;
- ``adjustment`` when the total is positive or 0, ``credit_note`` when it is negative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from services.invoicing.documents.content import EMPTY, Content, SourceAmount, StoredLine
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


def _delta_line(
    now: StoredLine | None, before: _Invoiced | None, key: tuple[str, str], currency: str
) -> StoredLine | None:
    quantity = round_quantity(
        (now.quantity if now else _ZERO) - (before.quantity if before else _ZERO)
    )
    amount = round_money(
        (now.amount if now else _ZERO) - (before.amount if before else _ZERO), currency
    )
    if quantity == 0 and amount == 0:
        return None
    sources = {source: -q for source, q in before.sources.items()} if before else {}
    for s in now.sources if now else ():
        source = (s.module, s.metric)
        sources[source] = sources.get(source, _ZERO) + s.quantity
    label = now or before
    assert label is not None
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
        daily=now.daily if now else "[]",
    )


def correction(
    recomputed: Content | None, invoiced: Iterable[StoredLine], tax_rate: Decimal, currency: str
) -> Correction | None:
    """The correction that brings the invoiced lines to ``recomputed`` (None: the period no
    longer bills anything), or None when no line differs."""
    now = recomputed or EMPTY
    before = _invoiced(invoiced)
    current = {line.key: line for line in now.lines}
    keys = [*current, *(key for key in before if key not in current)]
    with exact_context():
        lines = tuple(
            line
            for key in keys
            if (line := _delta_line(current.get(key), before.get(key), key, currency))
        )
        if not lines:
            return None
        subtotal = round_money(sum((line.amount for line in lines), _ZERO), currency)
        tax = round_money(subtotal * tax_rate, currency)
        total = subtotal + tax
    kind = InvoiceKind.CREDIT_NOTE if total < 0 else InvoiceKind.ADJUSTMENT
    return Correction(kind, Content(subtotal, tax_rate, tax, total, lines))
