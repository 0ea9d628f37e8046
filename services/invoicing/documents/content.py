"""Document content as stored: lines with their sources and daily series, and a fingerprint.

A billing run compares fingerprints to leave unchanged documents alone, so everything a
document shows goes into it. The daily series of a line is stored compactly, per source:
the days of the period as day-of-month numbers, the quantities in the same order and the
estimated days (``{"module", "metric", "days", "q", "estimated"}``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from services.invoicing.billing import InvoiceDraft, Line

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
        digest = hashlib.sha256(f"{self.subtotal}|{self.tax_rate}|{self.tax}".encode())
        for line in self.lines:
            digest.update(
                f"\n{line.contract_id}|{line.service_code}|{line.description}|{line.quantity}|"
                f"{line.unit_price}|{line.amount}|".encode()
            )
            for s in line.sources:
                digest.update(f"{s.module}/{s.metric}={s.quantity};".encode())
            digest.update(line.daily.encode())
        return digest.hexdigest()


EMPTY = Content(_ZERO, _ZERO, _ZERO, _ZERO, ())


def daily_json(line: Line, period_start: date) -> str:
    series = []
    for s in line.daily:
        days, quantities, estimated = [], [], []
        for point in s.days:
            number = (point.day - period_start).days + 1
            days.append(number)
            quantities.append(str(point.quantity))
            if point.estimated:
                estimated.append(number)
        series.append(
            {
                "module": s.module,
                "metric": s.metric,
                "days": days,
                "q": quantities,
                "estimated": estimated,
            }
        )
    return orjson.dumps(series).decode()


def stored_line(line: Line, period_start: date) -> StoredLine:
    return StoredLine(
        contract_id=line.contract_id,
        service_code=line.service_code,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        sources=tuple(SourceAmount(s.module, s.metric, s.quantity) for s in line.sources),
        daily=daily_json(line, period_start),
    )


def draft_content(draft: InvoiceDraft) -> Content:
    return Content(
        subtotal=draft.subtotal,
        tax_rate=draft.tax_rate,
        tax=draft.tax,
        total=draft.total,
        lines=tuple(stored_line(line, draft.period_start) for line in draft.lines),
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
)
"""The columns of :func:`line_rows`, in order."""


def line_id(invoice_id: uuid.UUID, contract_id: str, service_code: str) -> str:
    """``str(uuid.uuid5(invoice_id, "contract_id/service_code"))``, formatted directly: a
    large run names hundreds of thousands of lines."""
    digest = hashlib.sha1(
        invoice_id.bytes + f"{contract_id}/{service_code}".encode(), usedforsecurity=False
    ).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def line_rows(invoice_id: str, lines: Sequence[StoredLine]) -> list[tuple[Any, ...]]:
    """Rows of ``invoice_lines`` (:data:`LINE_COLUMNS`); a line keeps its id while its draft
    is refreshed."""
    base = uuid.UUID(invoice_id)
    return [
        (
            line_id(base, line.contract_id, line.service_code),
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
        )
        for i, line in enumerate(lines)
    ]
