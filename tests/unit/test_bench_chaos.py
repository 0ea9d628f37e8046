"""The chaos run's pure parts: the seeded schedule and the comparison's counting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bench.chaos.compare import Findings, compare_invoices, compare_units
from bench.chaos.schedule import describe, make_schedule

DAY = date(2026, 11, 3)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert make_schedule(18) == make_schedule(18)
    assert make_schedule(18) != make_schedule(19)
    assert describe(18, make_schedule(18)) == describe(18, make_schedule(18))


def test_the_schedule_holds_every_fault_the_run_promises() -> None:
    faults = make_schedule(7)
    kinds = {(f.phase, f.kind, f.target) for f in faults}
    for service in ("ingest", "mapping", "invoicing", "gateway"):
        assert ("ingest", "kill", service) in kinds
    assert {
        ("ingest", "restart", "gateway"),
        ("ingest", "kafka", ""),
        ("ingest", "postgres", ""),
        ("ingest", "pause", "mapping"),
        ("automap", "kill", "mapping"),
        ("billing", "kill", "invoicing"),
    } <= kinds
    ingest = [f.at for f in faults if f.phase == "ingest"]
    assert ingest == sorted(ingest) and all(0 < at < 1 for at in ingest)
    assert len(make_schedule(7, rounds=3)) == 3 * len(faults)


def _unit(quantity: str, version: int = 1, company: str | None = "CUST-1") -> tuple[Any, ...]:
    return ("mapped", company, Decimal(quantity), version)


def test_units_missing_changed_extra_or_changed_twice_are_counted() -> None:
    key = ("datto_rmm", "o1", "servers", DAY, "RMM-SRV")
    ref = {key: _unit("3"), (*key[:4], "X"): _unit("1"), (*key[:3], DAY, "Y"): _unit("2")}
    findings = Findings()
    compare_units(findings, dict(ref), ref)
    assert (findings.lost, findings.doubled) == (0, 0)
    chaos = {
        key: _unit("4"),  # different: lost
        (*key[:4], "X"): _unit("1", version=2),  # applied twice: doubled
        ("vulscan", "o9", "ips", DAY, "Z"): _unit("1"),  # not in the reference: doubled
    }  # the third reference row is missing: lost
    findings = Findings()
    compare_units(findings, chaos, ref)
    assert (findings.lost, findings.doubled) == (2, 2)


def _invoice(total: str, number: int | None) -> tuple[Any, ...]:
    return ("posted", Decimal(total), Decimal(0), Decimal(total), Decimal(total), (), number)


def test_invoices_differ_by_a_cent_and_numbers_must_run_from_one_without_gaps() -> None:
    ref = {("CUST-1", "2026-11", "EUR", "invoice"): _invoice("10.00", 1)}
    ref[("CUST-2", "2026-11", "EUR", "invoice")] = _invoice("5.00", 2)
    same = Findings()
    swapped = {k: (*v[:-1], 3 - v[-1]) for k, v in ref.items()}  # another order of posting
    compare_invoices(same, swapped, ref)
    assert same.invoice_differences == 0 and same.number_problems == [] and same.posted == 2
    off = Findings()
    chaos = {
        ("CUST-1", "2026-11", "EUR", "invoice"): _invoice("10.01", 1),
        ("CUST-2", "2026-11", "EUR", "invoice"): _invoice("5.00", 3),
    }
    compare_invoices(off, chaos, ref)
    assert off.invoice_differences == 1
    assert off.number_problems == ["used twice [], missing [2]"]
