"""Document content as stored: lines with their sources and daily series, and a fingerprint.

A billing run compares fingerprints to leave unchanged documents alone, so everything a
document shows goes into it. The daily series of a line is stored compactly, per source:
the days of the period as day-of-month numbers, the quantities in the same order, the
estimated days and the days the module's billing was not enabled (``{"module", "metric",
"days", "q", "estimated", "disabled"}``). A line's calculation (:func:`calculation_json`) is
stored as the public ``pricing_detail`` shows it, plus the days that are not the line's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson

from services.invoicing.billing import Calculation, InvoiceDraft, Line
from services.invoicing.documents.formatting import money, price, quantity

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SourceAmount:
    """The part of a line's quantity that comes from one ``(module, metric)``."""

    module: str
    metric: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class StoredLine:
    contract_id: str
    service_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    sources: tuple[SourceAmount, ...]
    daily: str
    """The compact daily series as JSON text (``"[]"`` when the line has none): the
    fingerprint covers it, and bulk writes send it as it is to the ``jsonb`` column."""
    period_start: date | None = None
    period_end: date | None = None
    calculation: str = "null"
    """The calculation as JSON text (``"null"``: not known)."""

    @property
    def key(self) -> tuple[str, str]:
        return self.contract_id, self.service_code

    def sources_json(self) -> str:
        return orjson.dumps(
            [
                {"module": s.module, "metric": s.metric, "quantity": str(s.quantity)}
                for s in self.sources
            ]
        ).decode()


@dataclass(frozen=True, slots=True)
class Content:
    """What a document says: totals and lines (the part a fingerprint covers)."""

    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    lines: tuple[StoredLine, ...]

    def fingerprint(self) -> str:
        text = [f"{self.subtotal}|{self.tax_rate}|{self.tax}"]  # hashed as one string
        for line in self.lines:
            text.append(
                f"\n{line.contract_id}|{line.service_code}|{line.description}|{line.quantity}|"
                f"{line.unit_price}|{line.amount}|{_date_text(line.period_start)}|"
                f"{_date_text(line.period_end)}|"
            )
            text.append(line.calculation)
            text.extend([f"{s.module}/{s.metric}={s.quantity};" for s in line.sources])
            text.append(line.daily)
        return hashlib.sha256("".join(text).encode()).hexdigest()


_DATE_TEXTS: dict[date | None, str] = {}
"""``str`` of the days of lines met lately (a run's lines share a few)."""


def _date_text(day: date | None) -> str:
    text = _DATE_TEXTS.get(day)
    if text is None:
        text = str(day)
        if type(day) is date:  # a datetime could equal a date of another text
            if len(_DATE_TEXTS) >= 1024:
                _DATE_TEXTS.clear()
            _DATE_TEXTS[day] = text
    return text


EMPTY = Content(_ZERO, _ZERO, _ZERO, _ZERO, ())


class DayNumbers:
    """The days of lists of dates as numbers from 1 (the period's first day), each list
    numbered once: the lines of a draft, and the sources of a line, share their dates."""

    def __init__(self, period_start: date) -> None:
        self._first = period_start.toordinal() - 1
        self._known: dict[int, tuple[Sequence[date], list[int]]] = {}

    def of(self, dates: Sequence[date]) -> list[int]:
        found = self._known.get(id(dates))
        if found is not None and found[0] is dates:
            return found[1]
        first = self._first
        numbers = [day.toordinal() - first for day in dates]
        self._known[id(dates)] = (dates, numbers)  # kept: the id is not reused meanwhile
        return numbers


def daily_json(line: Line, period_start: date, numbers: DayNumbers | None = None) -> str:
    numbers = numbers or DayNumbers(period_start)
    series = []
    for s in line.daily:
        days = numbers.of(s.dates)
        entry: dict[str, Any] = {
            "module": s.module,
            "metric": s.metric,
            "days": days,
            "q": _texts(s.quantities),
            "estimated": [days[i] for i in s.estimated] if s.estimated else [],
        }
        if s.disabled:
            entry["disabled"] = [days[i] for i in s.disabled]
        series.append(entry)
    return orjson.dumps(series).decode()


def _texts(quantities: Sequence[Decimal]) -> list[str]:
    """``str`` of each quantity; a run of one object (the usual series) is printed once."""
    out = []
    previous: Decimal | None = None
    text = ""
    for q in quantities:
        if q is not previous:
            previous, text = q, str(q)
        out.append(text)
    return out


def _tier(lower: Decimal, up_to: Decimal | None) -> dict[str, Any]:
    return {"from": str(quantity(lower)), "up_to": None if up_to is None else str(quantity(up_to))}


def calculation_json(calc: Calculation, currency: str) -> dict[str, Any]:
    """A line's calculation in its public form (``pricing_detail``, decimals as strings),
    with ``excluded``: the days of the period that are not the line's, by reason."""
    tiers = [
        {
            **_tier(t.lower, t.up_to),
            "quantity": str(quantity(t.quantity)),
            "unit_price": str(price(t.unit_price, currency)),
            "amount": str(money(t.amount, currency)),
        }
        for t in calc.tiers
    ]
    body: dict[str, Any] = {
        "model": calc.model,
        "counting_basis": calc.counting_basis,
        "unit_price": str(price(calc.unit_price, currency)) if calc.model == "per_unit" else None,
        "tiers": tiers,
        "minimum_units": str(quantity(calc.minimum_units)),
        "minimum_applied": calc.minimum_applied,
        "active_days": calc.active_days,
        "days_in_period": calc.days_in_period,
    }
    if calc.model == "volume":
        body["tier"] = tiers[0] if len(tiers) == 1 else None
    body["excluded"] = {reason: list(days) for reason, days in calc.excluded}
    return body


def stored_line(
    line: Line, period_start: date, currency: str, numbers: DayNumbers | None = None
) -> StoredLine:
    return StoredLine(
        line.contract_id,
        line.service_code,
        line.description,
        line.quantity,
        line.unit_price,
        line.amount,
        tuple([SourceAmount(s.module, s.metric, s.quantity) for s in line.sources]),
        daily_json(line, period_start, numbers),
        line.period_start,
        line.period_end,
        "null" if line.calculation is None else _calculation_text(line.calculation, currency),
    )


_CALCULATION_TEXTS: dict[tuple[int, str], tuple[Calculation, str]] = {}
"""The JSON texts of the calculations without tiers seen lately, by identity and currency:
equal lines share their calculation (the entry keeps it alive, so its id is not reused)."""
MAX_CALCULATION_TEXTS = 4096


def _calculation_text(calc: Calculation, currency: str) -> str:
    """:func:`calculation_json` as JSON text."""
    if calc.tiers:
        return orjson.dumps(calculation_json(calc, currency)).decode()
    key = (id(calc), currency)
    found = _CALCULATION_TEXTS.get(key)
    if found is not None and found[0] is calc:
        return found[1]
    text = orjson.dumps(calculation_json(calc, currency)).decode()
    if len(_CALCULATION_TEXTS) >= MAX_CALCULATION_TEXTS:
        _CALCULATION_TEXTS.clear()
    _CALCULATION_TEXTS[key] = (calc, text)
    return text


def draft_content(draft: InvoiceDraft) -> Content:
    numbers = DayNumbers(draft.period_start)
    return Content(
        subtotal=draft.subtotal,
        tax_rate=draft.tax_rate,
        tax=draft.tax,
        total=draft.total,
        lines=tuple(
            stored_line(line, draft.period_start, draft.currency, numbers) for line in draft.lines
        ),
    )


def parse_sources(stored: Sequence[Mapping[str, str]]) -> tuple[SourceAmount, ...]:
    """The ``sources`` column of a line as read from the database."""
    return tuple(SourceAmount(s["module"], s["metric"], Decimal(s["quantity"])) for s in stored)


@dataclass(frozen=True, slots=True)
class DailySeries:
    module: str
    metric: str
    days: tuple[tuple[date, Decimal, bool], ...]


def parse_daily(stored: Sequence[Mapping[str, Any]], period_start: date) -> list[DailySeries]:
    """The stored daily series of a line (the ``daily`` column), with dates."""
    out = []
    for s in stored:
        if "q" not in s:  # the first format: [[iso date, quantity, estimated], ...]
            days = tuple((date.fromisoformat(d), Decimal(q), e) for d, q, e in s["days"])
        else:
            estimated = set(s["estimated"])
            days = tuple(
                (period_start.replace(day=n), Decimal(q), n in estimated)
                for n, q in zip(s["days"], s["q"], strict=True)
            )
        out.append(DailySeries(s["module"], s["metric"], days))
    return out


LINE_COLUMNS = (
    "id",
    "invoice_id",
    "position",
    "contract_id",
    "service_code",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "sources",
    "daily",
    "period_start",
    "period_end",
    "calculation",
)
"""The columns of :func:`line_rows`, in order."""
LineFacts = list[tuple[str, str, Decimal]]
"""A draft's lines as its holds judge them: ``(line_id, service_code, quantity)``."""
_FACTS = itemgetter(*(LINE_COLUMNS.index(c) for c in ("id", "service_code", "quantity")))


def line_facts(rows: Sequence[tuple[Any, ...]]) -> LineFacts:
    """Of rows of :func:`line_rows`: what holds judge."""
    return list(map(_FACTS, rows))


def named_line_facts(invoice_id: str, lines: Sequence[StoredLine]) -> LineFacts:
    """:func:`line_facts` of a document's lines without building their rows."""
    ids = line_ids(invoice_id, lines)
    return [(i, line.service_code, line.quantity) for i, line in zip(ids, lines, strict=True)]


def line_id(
    invoice_id: uuid.UUID, contract_id: str, service_code: str, segment: date | None = None
) -> str:
    """``str(uuid.uuid5(invoice_id, "contract_id/service_code"))``, formatted directly: a
    large run names hundreds of thousands of lines. A service's later segments (``segment``:
    their first day) add ``/YYYY-MM-DD``."""
    name = f"{contract_id}/{service_code}" + ("" if segment is None else f"/{segment}")
    digest = hashlib.sha1(invoice_id.bytes + name.encode(), usedforsecurity=False).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def line_ids(invoice_id: str, lines: Sequence[StoredLine]) -> list[str]:
    """The ids of a document's lines: a line keeps its id while its draft is refreshed. A
    service's first line is named by contract and service, its later segments by their first
    day too."""
    base = uuid.UUID(invoice_id)
    seen: set[tuple[str, str]] = set()
    ids = []
    for line in lines:
        later = line.key in seen
        seen.add(line.key)
        ids.append(
            line_id(base, line.contract_id, line.service_code, line.period_start if later else None)
        )
    return ids


def line_rows(invoice_id: str, lines: Sequence[StoredLine]) -> list[tuple[Any, ...]]:
    """Rows of ``invoice_lines`` (:data:`LINE_COLUMNS`), the lines named by :func:`line_ids`."""
    ids = line_ids(invoice_id, lines)
    return [
        (
            ids[i],
            invoice_id,
            i,
            line.contract_id,
            line.service_code,
            line.description,
            line.quantity,
            line.unit_price,
            line.amount,
            line.sources_json(),
            line.daily,
            line.period_start,
            line.period_end,
            line.calculation,
        )
        for i, line in enumerate(lines)
    ]
