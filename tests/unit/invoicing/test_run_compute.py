"""The process-pool edge of a billing run: the compact pickling lives here (the billing math
has none), and a run's per-company work never runs on the event loop."""

from __future__ import annotations

import pickle
import threading
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.invoicing import billing
from services.invoicing.billing import Contract, Pricing, ServiceTerms, Tier
from services.invoicing.documents.content import (
    Content,
    SourceAmount,
    StoredLine,
    draft_content,
    line_rows,
)
from services.invoicing.runs import compute
from services.invoicing.runs.pickling import COMPACT, dumps
from shared.pg_copy import copy_text

TIERED = Pricing("graduated", Decimal(0), (Tier(Decimal(10), Decimal("3")), Tier(None, Decimal(1))))
SERVICE = ServiceTerms("RMM", "RMM devices", TIERED, "monthly_peak", Decimal(2))
CONTRACT = Contract("c-1", "Plan", "EUR", date(2025, 1, 1), None, (SERVICE, SERVICE))
LINE = StoredLine(
    "c-1", "RMM", "RMM devices", Decimal(3), Decimal(2), Decimal(6),
    (SourceAmount("datto_rmm", "servers", Decimal(3)),), "[]",
)  # fmt: skip
CONTENT = Content(Decimal(6), Decimal("0.19"), Decimal("1.14"), Decimal("7.14"), (LINE,))


@pytest.mark.parametrize("value", [TIERED, TIERED.tiers[0], SERVICE, CONTRACT, LINE, CONTENT])
def test_what_the_pool_carries_pickles_compactly_and_comes_back_equal(value: Any) -> None:
    compact = dumps(value)
    assert pickle.loads(compact) == value
    assert len(compact) < len(pickle.dumps(value))  # class and field values, not slot states


def test_every_compact_class_is_a_slotted_dataclass() -> None:
    for cls in COMPACT:
        assert "__slots__" in vars(cls) and "__dataclass_fields__" in vars(cls), cls
        assert tuple(cls.__slots__) == tuple(cls.__dataclass_fields__), cls


def test_the_billing_math_has_no_pickling_code() -> None:
    for source in Path(billing.__file__).parent.glob("*.py"):
        text = source.read_text()
        assert "__reduce__" not in text and "pickl" not in text, source.name


async def test_a_run_without_the_pool_bills_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []

    def prepare_batch(
        terms: compute.Terms, batch: compute.Batch, live: compute.Live, parser: Any, encode: bool
    ) -> list[Any]:
        threads.append(threading.current_thread())
        return [(company, []) for company, _ in batch]

    monkeypatch.setattr(compute, "prepare_batch", prepare_batch)
    terms = compute.Terms("2026-01", {"a": [CONTRACT], "b": [CONTRACT]}, {}, {}, {})
    biller = compute.Biller(terms, {})
    biller.send([("a", [])])
    biller.send([("b", [])])
    assert biller.busy and biller.waiting == 2
    assert await biller.oldest() == [("a", [])]
    assert await biller.oldest() == [("b", [])]
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_a_worker_unpickles_a_run_s_shared_terms_once_and_bills_each_batch() -> None:
    shared = dumps(compute.Shared("2026-01", {}, {}))
    billed = pickle.loads(
        compute._bill_in_worker("run-1", shared, {"a": [CONTRACT]}, {}, {}, [("a", [])], False)
    )
    assert [company for company, _ in billed] == ["a"]
    cached = compute._worker_run
    assert cached is not None and cached[0] == "run-1"
    compute._bill_in_worker("run-1", shared, {"b": [CONTRACT]}, {}, {}, [("b", [])], False)
    assert compute._worker_run is cached
    compute._bill_in_worker("run-2", shared, {"b": [CONTRACT]}, {}, {}, [("b", [])], False)
    assert compute._worker_run is not cached and compute._worker_run[0] == "run-2"


def test_the_parser_adds_up_a_source_s_rows_and_repeated_days() -> None:
    parser = compute._Parser("2026-01")  # offset 0 is 2025-12-29
    rows = [
        ("RMM", "datto_rmm", "servers", "3=2,4=1.5"),
        ("RMM", "datto_rmm", "servers", "4=1,4=0.25"),  # another org of the company
        ("RMM", "datto_rmm", "desktops", "3=2"),
    ]
    for _ in range(2):  # the second time from the pairs it remembers
        usage = parser.usage(rows)
        assert usage == {
            "RMM": {
                ("datto_rmm", "servers"): {
                    date(2026, 1, 1): Decimal("2.0000"),
                    date(2026, 1, 2): Decimal("2.7500"),
                },
                ("datto_rmm", "desktops"): {date(2026, 1, 1): Decimal("2.0000")},
            }
        }
        assert str(usage["RMM"][("datto_rmm", "desktops")][date(2026, 1, 1)]) == "2.0000"


def test_drafts_are_prepared_for_writing_against_the_period_s_invoices() -> None:
    fingerprint = CONTENT.fingerprint()
    one, two, three = (str(uuid.uuid4()) for _ in range(3))
    billed = [("EUR", CONTENT, fingerprint), ("USD", CONTENT, fingerprint)]
    new, usd = compute.prepared(billed, {})
    assert new.rows == line_rows(new.invoice_id, CONTENT.lines) and new.content is None
    assert new.totals == (Decimal(6), Decimal("0.19"), Decimal("1.14"), Decimal("7.14"))
    assert new.invoice_id != usd.invoice_id  # each new draft its own id

    unchanged, changed = compute.prepared(billed, {"EUR": (one, fingerprint), "USD": (two, "x")})
    assert (unchanged.invoice_id, unchanged.rows, unchanged.content) == (one, None, None)
    [(line_id, code, quantity)] = unchanged.facts  # for its holds, though not written
    assert (line_id, code, quantity) == (line_rows(one, CONTENT.lines)[0][0], "RMM", Decimal(3))
    assert changed.invoice_id == two and changed.rows == line_rows(two, CONTENT.lines)
    assert changed.fingerprint == fingerprint

    [encoded] = compute.prepared(billed[:1], {}, encode=True)
    assert encoded.rows == copy_text(line_rows(encoded.invoice_id, CONTENT.lines))
    assert encoded.facts == [(encoded.rows.decode().split("\t")[0], "RMM", Decimal(3))]

    [posted] = compute.prepared(billed[:1], {"EUR": (three, None)})
    assert (posted.invoice_id, posted.rows, posted.content) == (three, None, CONTENT)


def test_the_parser_keeps_a_row_of_consecutive_days_in_order_as_a_day_series() -> None:
    parser = compute._Parser("2026-01")  # offset 0 is 2025-12-29
    rows = [
        ("RMM", "datto_rmm", "servers", "3=2,4=1.5,5=2"),
        ("RMM", "datto_rmm", "desktops", "4=1,3=2"),  # not in order: a dict
        ("RMM", "datto_rmm", "agents", "3=1,5=1"),  # a day missing: a dict
        ("RMM", "datto_edr", "agents", "3=0,4=-0"),
    ]

    usage = parser.usage(rows)["RMM"]

    servers = usage[("datto_rmm", "servers")]
    assert isinstance(servers, billing.DaySeries) and servers.plain
    assert servers.run(date(2026, 1, 2), 2) == [Decimal("1.5"), Decimal(2)]
    assert servers.run(date(2026, 1, 2), 3) is None
    assert servers == {
        date(2026, 1, 1): Decimal(2),
        date(2026, 1, 2): Decimal("1.5"),
        date(2026, 1, 3): Decimal(2),
    }
    for unordered in ("desktops", "agents"):
        assert type(usage[("datto_rmm", unordered)]) is dict
    assert not usage[("datto_edr", "agents")].plain  # type: ignore[attr-defined]


def test_a_day_series_and_a_dict_bill_alike() -> None:
    """The same usage as parsed day series and as plain dicts: the same stored content,
    including a ``-0.0000`` beside ``0.0000`` and days without a record."""
    parser = compute._Parser("2026-01")
    rows = [
        ("RMM", "datto_rmm", "servers", ",".join(f"{i}=12.5" for i in range(34))),
        ("RMM", "datto_rmm", "desktops", ",".join(f"{i}={i % 3}" for i in range(10, 34))),
        ("RMM", "datto_edr", "agents", ",".join(f"{i}={(0, '-0', 7)[i % 3]}" for i in range(34))),
    ]
    usage = parser.usage(rows)
    assert isinstance(usage["RMM"][("datto_edr", "agents")], billing.DaySeries)
    as_dicts = {code: {s: dict(v) for s, v in sources.items()} for code, sources in usage.items()}
    days = {m: {date(2025, 12, 29 + i) if i < 3 else date(2026, 1, i - 2) for i in range(34)}
            for m in ("datto_rmm", "datto_edr")}  # fmt: skip
    enabled = {"datto_rmm": date(2026, 1, 1), "datto_edr": date(2026, 1, 1)}

    def billed(values: billing.Usage) -> list[str]:
        drafts = billing.compute_invoices("2026-01", [CONTRACT], Decimal(0), values, days, enabled)
        return [draft_content(d).fingerprint() for d in drafts]

    assert billed(usage) == billed(as_dicts)
