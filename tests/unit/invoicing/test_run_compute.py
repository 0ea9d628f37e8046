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
from services.invoicing.documents.content import Content, SourceAmount, StoredLine, line_rows
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
    assert changed.invoice_id == two and changed.rows == line_rows(two, CONTENT.lines)
    assert changed.fingerprint == fingerprint

    [encoded] = compute.prepared(billed[:1], {}, encode=True)
    assert encoded.rows == copy_text(line_rows(encoded.invoice_id, CONTENT.lines))
    assert encoded.facts == [(encoded.rows.decode().split("\t")[0], "RMM", Decimal(3))]

    [posted] = compute.prepared(billed[:1], {"EUR": (three, None)})
    assert (posted.invoice_id, posted.rows, posted.content) == (three, None, CONTENT)
