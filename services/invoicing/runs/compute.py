"""The CPU-bound part of a billing run: each company's usage through the billing code.

The per-company work is pure (:func:`bill_company`), so a large run spreads it over the
service's worker processes (:mod:`shared.workers`): the run streams companies from the
database in batches, the workers parse and bill them, the run writes the results in the order
it sent them. Small runs bill in a thread of the service's process; the result is the same.
"""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple, cast

from services.invoicing.billing import MAX_CARRIED_DAYS, Contract, compute_invoices, parse_period
from services.invoicing.billing.series import DaySeries, day_series
from services.invoicing.documents.content import (
    Content,
    LineFacts,
    draft_content,
    line_facts,
    line_rows,
    named_line_facts,
)
from services.invoicing.runs.pickling import dumps
from shared.collector import collector_paused
from shared.money import round_quantity
from shared.pg_copy import copy_text
from shared.workers import WorkerPool

Usage = dict[str, dict[tuple[str, str], dict[date, Decimal]]]
"""service_code -> (module, metric) -> day -> quantity: one company's share of the month."""
UsageRows = list[tuple[str, str, str, str]]
"""(service_code, module, metric, "offset=quantity,...") as the aggregate query answers; a
day travels as its offset from :func:`usage_start` (an integer is cheaper to write out)."""
Billed = list[tuple[str, Content, str]]
"""(currency, content, fingerprint) per draft of one company"""
Batch = list[tuple[str, UsageRows]]
Live = dict[str, dict[str, tuple[str, str | None]]]
"""company_id -> currency -> its invoice of the period before the run: (id, fingerprint),
the fingerprint None when the invoice is posted"""


@dataclass(frozen=True)
class Terms:
    """Everything but usage a company's drafts depend on."""

    period: str
    contracts: dict[str, list[Contract]]
    """company_id -> its contracts active in the period"""
    tax_rates: dict[str, Decimal]
    module_days: dict[str, set[date]]
    """module -> the days it reported anything for the tenant (from 3 days before)"""
    enabled_from: dict[str, date | None]
    """module -> first billed day (None: billing disabled)"""


def usage_start(period: str) -> date:
    """The first day of usage a run of ``period`` reads: 3 days before the period, for
    carry-forward across its start."""
    return parse_period(period)[0] - timedelta(days=MAX_CARRIED_DAYS)


RUN_DAYS = 64
"""Offsets whose days :class:`_Parser` makes in advance (more than a month and 3 days)."""
_DAY = itemgetter(0)
_QUANTITY = itemgetter(1)

MAX_PAIRS = 100_000
"""``offset=quantity`` texts a parser remembers: a run's companies repeat the same few."""


class _Parser:
    """Parses the aggregate's ``offset=quantity`` strings, sharing equal dates and decimals
    (and remembering the pairs it has met: most repeat from company to company). A row of
    consecutive days, in order, becomes a :class:`DaySeries`."""

    def __init__(self, period: str) -> None:
        self.first = usage_start(period)
        self.run = [self.first + timedelta(days=i) for i in range(RUN_DAYS)]
        """The days of the usual offsets, the objects :meth:`pair` answers."""
        self.days: dict[str, date] = {}
        self.quantities: dict[str, Decimal] = {}
        self.pairs: dict[str, tuple[date, Decimal]] = {}
        self.signed_zeros: set[int] = set()
        """The ids of the ``-0.0000`` among :attr:`quantities` (kept there, so their ids
        are not reused): they print apart from an equal ``0.0000``."""

    def pair(self, text: str) -> tuple[date, Decimal]:
        """The day and quantity of one ``offset=quantity``."""
        found = self.pairs.get(text)
        if found is not None:
            return found
        offset, _, quantity_text = text.partition("=")
        day = self.days.get(offset)
        if day is None:
            number = int(offset)
            day = self.run[number] if 0 <= number < RUN_DAYS else self.first + timedelta(number)
            self.days[offset] = day
        quantity = self.quantities.get(quantity_text)
        if quantity is None:
            # The unit table's scale (4 digits), whatever text the database gave.
            quantity = self.quantities[quantity_text] = round_quantity(Decimal(quantity_text))
            if quantity.is_zero() and quantity.is_signed():
                self.signed_zeros.add(id(quantity))
        if len(self.pairs) < MAX_PAIRS:
            self.pairs[text] = (day, quantity)
        return day, quantity

    def usage(self, rows: UsageRows) -> Usage:
        usage: Usage = {}
        known, pair = self.pairs.get, self.pair
        for code, module, metric, series in rows:
            pairs = [known(text) or pair(text) for text in series.split(",")]
            sources = usage.setdefault(code, {})
            if (module, metric) not in sources:
                values = self.values(pairs)
                if len(values) == len(pairs):
                    sources[module, metric] = values  # the usual case: one row, each day once
                    continue
            # Several orgs of the company report the source: their quantities add up.
            added = sources.get((module, metric))
            if added is None or isinstance(added, DaySeries):  # a dict to add to
                added = sources[module, metric] = dict(added or {})
            for day, quantity in pairs:
                prior = added.get(day)
                added[day] = quantity if prior is None else prior + quantity
        return usage

    def values(self, pairs: list[tuple[date, Decimal]]) -> dict[date, Decimal]:
        """The quantities of one row by day: a :class:`DaySeries` when its days are
        consecutive and in order (the usual case)."""
        start = (pairs[0][0] - self.first).days
        if start < 0 or list(map(_DAY, pairs)) != self.run[start : start + len(pairs)]:
            return dict(pairs)
        quantities = list(map(_QUANTITY, pairs))
        signed = self.signed_zeros
        plain = not signed or not any(map(signed.__contains__, map(id, quantities)))
        return day_series(pairs, quantities, plain)


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
    parser = parser or _Parser(terms.period)
    return [
        (company_id, bill_company(terms, company_id, parser.usage(rows)))
        for company_id, rows in batch
    ]


class Computed(NamedTuple):
    """One computed draft as the run writes it, prepared where it was billed."""

    currency: str
    fingerprint: str
    totals: tuple[Decimal, Decimal, Decimal, Decimal]
    """subtotal, tax rate, tax, total"""
    invoice_id: str
    """The draft's id: the live invoice's, or a new one."""
    rows: list[tuple[Any, ...]] | bytes | None
    """Its line rows (:func:`line_rows`), or for PostgreSQL their COPY text; None when it is
    unchanged or the invoice posted."""
    facts: LineFacts
    """Of a draft's lines (written or unchanged): what holds judge."""
    content: Content | None
    """Only against a posted invoice: what its period computes now, for a correction."""


def _totals(content: Content) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return content.subtotal, content.tax_rate, content.tax, content.total


def to_write(
    invoice_id: str,
    content: Content,
    currency: str = "",
    fingerprint: str | None = None,
    encode: bool = False,
) -> Computed:
    """``content`` with its line rows (``encode``: as COPY text), to be written as the
    document ``invoice_id``."""
    rows = line_rows(invoice_id, content.lines)
    return Computed(
        currency,
        fingerprint or content.fingerprint(),
        _totals(content),
        invoice_id,
        copy_text(rows) if encode else rows,
        line_facts(rows),
        None,
    )


def prepared(
    billed: Billed, live: dict[str, tuple[str, str | None]], encode: bool = False
) -> list[Computed]:
    """A company's drafts against its ``live`` invoices (by currency): the line rows of
    those to write, under the id they will have."""
    out = []
    for currency, content, fingerprint in billed:
        invoice_id, stored = live.get(currency) or (str(uuid.uuid4()), "")
        totals = _totals(content)
        if stored is None:  # posted: a correction is worked out from the content
            out.append(Computed(currency, fingerprint, totals, invoice_id, None, [], content))
        elif stored == fingerprint:  # a draft that stays: its lines for its holds
            facts = named_line_facts(invoice_id, content.lines)
            out.append(Computed(currency, fingerprint, totals, invoice_id, None, facts, None))
        else:
            out.append(to_write(invoice_id, content, currency, fingerprint, encode))
    return out


def prepare_batch(
    terms: Terms, batch: Batch, live: Live, parser: _Parser | None = None, encode: bool = False
) -> list[tuple[str, list[Computed]]]:
    return [
        (company_id, prepared(billed, live.get(company_id, {}), encode))
        for company_id, billed in bill_batch(terms, batch, parser)
    ]


@dataclass(frozen=True)
class Shared:
    """The part of the terms every company of a run needs (sent with each batch, pickled
    once per run; a worker unpickles it once per run)."""

    period: str
    module_days: dict[str, set[date]]
    enabled_from: dict[str, date | None]


_worker_run: tuple[str, Shared, _Parser] | None = None
"""In a worker process: the run it billed last, its shared terms and parsed values."""


def _bill_in_worker(
    run_key: str,
    shared: bytes,
    contracts: dict[str, list[Contract]],
    tax_rates: dict[str, Decimal],
    live: Live,
    batch: Batch,
    encode: bool,
) -> bytes:
    global _worker_run
    if _worker_run is None or _worker_run[0] != run_key:
        shared_terms: Shared = pickle.loads(shared)
        _worker_run = (run_key, shared_terms, _Parser(shared_terms.period))
    _, terms, parser = _worker_run
    with collector_paused():
        billed = prepare_batch(
            Terms(terms.period, contracts, tax_rates, terms.module_days, terms.enabled_from),
            batch,
            live,
            parser,
            encode,
        )
        # Pickled here, unpickled by :meth:`Biller.oldest` with the collector paused too
        # (the pool would unpickle it in a thread of its own, collector running).
        return dumps(billed)


class Biller:
    """Bills batches of companies, in the service's worker processes when given ``pool``,
    otherwise in a thread (never on the event loop); :meth:`oldest` answers the billed
    batches in the order they were sent.

    A long-lived pool's workers serve many runs, so a run's terms travel with its batches:
    each batch carries only its companies' contracts, tax rates and invoices of the period,
    and the shared rest as bytes pickled once per run, which a worker unpickles when it meets
    a new run. What comes back is ready to write (``encode``: line rows as COPY text)."""

    def __init__(
        self, terms: Terms, live: Live, pool: WorkerPool | None = None, encode: bool = False
    ) -> None:
        self._terms = terms
        self._live = live
        self._encode = encode
        self._pool = pool
        self._key = uuid.uuid4().hex
        self._shared = (
            dumps(Shared(terms.period, terms.module_days, terms.enabled_from))
            if pool is not None
            else b""
        )
        self._parser = _Parser(terms.period)
        self._pending: deque[asyncio.Future[Any]] = deque()
        """billed batches: as objects from the thread, pickled from a worker"""

    @property
    def busy(self) -> bool:
        """Enough batches in flight: collect results before sending more."""
        return len(self._pending) >= 2 * (self._pool.size if self._pool is not None else 1)

    def send(self, batch: Batch) -> None:
        billed: asyncio.Future[Any]
        if self._pool is None:
            loop = asyncio.get_running_loop()
            billed = loop.run_in_executor(
                None, prepare_batch, self._terms, batch, self._live, self._parser, self._encode
            )
        else:
            contracts, rates, live = self._terms.contracts, self._terms.tax_rates, self._live
            billed = self._pool.submit(
                _bill_in_worker,
                self._key,
                self._shared,
                {company: contracts[company] for company, _ in batch},
                {company: rates[company] for company, _ in batch if company in rates},
                {company: live[company] for company, _ in batch if company in live},
                batch,
                self._encode,
            )
        self._pending.append(billed)

    async def oldest(self) -> list[tuple[str, list[Computed]]]:
        billed = await self._pending.popleft()
        if self._pool is None:
            return cast(list[tuple[str, list[Computed]]], billed)
        with collector_paused():
            return cast(list[tuple[str, list[Computed]]], pickle.loads(billed))

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def cancel(self) -> None:
        """Drops the batches not yet billed (the run failed or was cancelled)."""
        for billed in self._pending:
            billed.cancel()
        self._pending.clear()


def batches(companies: Sequence[str], size: int) -> list[Batch]:
    """Companies without usage, in batches."""
    return [[(c, []) for c in companies[i : i + size]] for i in range(0, len(companies), size)]
