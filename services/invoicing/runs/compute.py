"""The CPU-bound part of a billing run: each company's usage through the billing code.

The per-company work is pure (:func:`bill_company`), so a large run spreads it over worker
processes: the run streams companies from the database in batches, the workers parse and
bill them, the run writes the results in the order it sent them. Small runs (and
``ICB_BILLING_WORKERS=1``) bill in the run's own process; the result is the same.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import TracebackType

from services.invoicing.billing import Contract, compute_invoices
from services.invoicing.documents.content import Content, draft_content
from shared.money import round_quantity

Usage = dict[str, dict[tuple[str, str], dict[date, Decimal]]]
"""service_code -> (module, metric) -> day -> quantity: one company's share of the month."""
UsageRows = list[tuple[str, str, str, str]]
"""(service_code, module, metric, "day=quantity,...") as the aggregate query answers."""
Billed = list[tuple[str, Content, str]]
"""(currency, content, fingerprint) per draft of one company"""
Batch = list[tuple[str, UsageRows]]
MAX_WORKERS = 8


@dataclass(frozen=True)
class Terms:
    """Everything but usage a company's drafts depend on (sent to each worker once)."""

    period: str
    contracts: dict[str, list[Contract]]
    """company_id -> its contracts active in the period"""
    tax_rates: dict[str, Decimal]
    module_days: dict[str, set[date]]
    """module -> the days it reported anything for the tenant (from 3 days before)"""
    enabled_from: dict[str, date | None]
    """module -> first billed day (None: billing disabled)"""


class _Parser:
    """Parses the aggregate's ``day=quantity`` strings, sharing equal dates and decimals."""

    def __init__(self) -> None:
        self.days: dict[str, date] = {}
        self.quantities: dict[str, Decimal] = {}

    def usage(self, rows: UsageRows) -> Usage:
        usage: Usage = {}
        days, quantities = self.days, self.quantities
        for code, module, metric, series in rows:
            values = usage.setdefault(code, {}).setdefault((module, metric), {})
            for pair in series.split(","):
                day_text, _, quantity_text = pair.partition("=")
                day = days.get(day_text)
                if day is None:
                    day = days[day_text] = date.fromisoformat(day_text)
                quantity = quantities.get(quantity_text)
                if quantity is None:
                    # The unit table's scale (4 digits), whatever text the database gave.
                    quantity = quantities[quantity_text] = round_quantity(Decimal(quantity_text))
                prior = values.get(day)  # several orgs of the company report the source
                values[day] = quantity if prior is None else prior + quantity
        return usage


def bill_company(terms: Terms, company_id: str, usage: Usage) -> Billed:
    drafts = compute_invoices(
        terms.period,
        terms.contracts[company_id],
        terms.tax_rates.get(company_id, Decimal(0)),
        usage,
        terms.module_days,
        terms.enabled_from,
    )
    billed = []
    for draft in drafts:
        content = draft_content(draft)
        billed.append((draft.currency, content, content.fingerprint()))
    return billed


def bill_batch(
    terms: Terms, batch: Batch, parser: _Parser | None = None
) -> list[tuple[str, Billed]]:
    parser = parser or _Parser()
    return [
        (company_id, bill_company(terms, company_id, parser.usage(rows)))
        for company_id, rows in batch
    ]


_worker_terms: Terms | None = None
_worker_parser = _Parser()


def _start_worker(terms: Terms) -> None:
    global _worker_terms
    _worker_terms = terms


def _bill_in_worker(batch: Batch) -> list[tuple[str, Billed]]:
    assert _worker_terms is not None
    return bill_batch(_worker_terms, batch, _worker_parser)


def worker_count(configured: int) -> int:
    """0: one per CPU core (at most 8)."""
    return configured or min(os.cpu_count() or 1, MAX_WORKERS)


class Biller:
    """Bills batches of companies, in worker processes when ``workers`` > 1; ``results``
    answers the billed batches in the order they were sent."""

    def __init__(self, terms: Terms, workers: int) -> None:
        self._terms = terms
        self._workers = workers
        self._parser = _Parser()
        self._executor: Executor | None = None
        self._pending: deque[asyncio.Future[list[tuple[str, Billed]]]] = deque()

    async def __aenter__(self) -> Biller:
        if self._workers > 1:
            # spawn: a fresh interpreter, not a copy of a process with an event loop.
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._terms,),
            )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=error is None, cancel_futures=True)

    @property
    def busy(self) -> bool:
        """Enough batches in flight: collect results before sending more."""
        return len(self._pending) >= 2 * max(self._workers, 1)

    def send(self, batch: Batch) -> None:
        if self._executor is None:
            done: Future[list[tuple[str, Billed]]] = Future()
            done.set_result(bill_batch(self._terms, batch, self._parser))
            self._pending.append(asyncio.wrap_future(done))
        else:
            self._pending.append(asyncio.wrap_future(self._executor.submit(_bill_in_worker, batch)))

    async def oldest(self) -> list[tuple[str, Billed]]:
        return await self._pending.popleft()

    @property
    def waiting(self) -> int:
        return len(self._pending)


def batches(companies: Sequence[str], size: int) -> list[Batch]:
    """Companies without usage, in batches."""
    return [[(c, []) for c in companies[i : i + size]] for i in range(0, len(companies), size)]
