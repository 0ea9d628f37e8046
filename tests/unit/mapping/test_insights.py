"""Insight rules: each appears when its cause is in the facts and is gone without it."""

from __future__ import annotations

from datetime import date, timedelta

from services.mapping.insights.rules import (
    KINDS,
    BillingState,
    Facts,
    ModuleActivity,
    UnmappedMetric,
    UnmappedOrg,
    build,
    modules_not_enabled,
    stale_modules,
    unmapped_metrics,
    unmapped_orgs,
)
from services.mapping.matching.scoring import Suggestion

TODAY = date(2026, 11, 27)
RMM, EDR = "datto_rmm", "datto_edr"


def activity(module: str, last_seen: date = TODAY, orgs: int = 2) -> ModuleActivity:
    return ModuleActivity(module, orgs, last_seen)


def test_module_sending_data_without_billing() -> None:
    facts = Facts(
        TODAY,
        activity={RMM: activity(RMM, orgs=3), EDR: activity(EDR)},
        billing={EDR: BillingState(True, TODAY)},
    )
    [found] = modules_not_enabled(facts)
    assert (found.kind, found.module, found.count, found.severity) == (
        "module_not_enabled",
        RMM,
        3,
        "warning",
    )
    assert "Datto RMM" in found.message and "3 organisations" in found.message
    disabled = Facts(TODAY, activity={RMM: activity(RMM)}, billing={RMM: BillingState(False)})
    assert [i.module for i in modules_not_enabled(disabled)] == [RMM]
    enabled = Facts(TODAY, activity={RMM: activity(RMM)}, billing={RMM: BillingState(True)})
    assert modules_not_enabled(enabled) == []
    assert modules_not_enabled(Facts(TODAY, billing={RMM: BillingState(False)})) == []


def test_unmapped_orgs_one_each_with_suggestions() -> None:
    hint = Suggestion("c-1", "Contoso Ltd", 0.97)
    orgs = [
        UnmappedOrg(RMM, "b", "Zeta", TODAY, TODAY, 1),
        UnmappedOrg(RMM, "a", "Contoso", TODAY - timedelta(days=4), TODAY, 31, (hint,)),
    ]
    first, second = unmapped_orgs(Facts(TODAY, unmapped_orgs=orgs))
    assert (first.org_id, first.count, first.suggestions) == ("a", 31, (hint,))
    assert first.message.startswith("Integrated billing is available for a new organisation")
    assert "'Contoso'" in first.message and "31 usage records" in first.message
    assert (second.org_id, second.suggestions) == ("b", ())
    assert unmapped_orgs(Facts(TODAY)) == []


def test_unmapped_metric_per_module_and_metric_with_the_companies() -> None:
    facts = Facts(
        TODAY,
        unmapped_metrics=[
            UnmappedMetric(RMM, "servers", "o2", "c-2"),
            UnmappedMetric(RMM, "servers", "o1", "c-1"),
            UnmappedMetric(RMM, "servers", "o3", "c-1"),
            UnmappedMetric(EDR, "endpoints", "e1", "c-1"),
        ],
    )
    edr, rmm = unmapped_metrics(facts)
    assert (edr.module, edr.metric, edr.count, edr.company_id) == (EDR, "endpoints", 1, "c-1")
    assert (rmm.metric, rmm.count, rmm.company_id) == ("servers", 2, None)
    assert rmm.items == (
        {"company_id": "c-1", "org_id": "o1"},
        {"company_id": "c-1", "org_id": "o3"},
        {"company_id": "c-2", "org_id": "o2"},
    )
    assert unmapped_metrics(Facts(TODAY)) == []


def test_stale_module_after_more_than_the_configured_days() -> None:
    facts = Facts(
        TODAY,
        activity={
            RMM: activity(RMM, TODAY - timedelta(days=3)),
            EDR: activity(EDR, TODAY - timedelta(days=4)),
        },
        billing={EDR: BillingState(True)},
    )
    [edr] = stale_modules(facts)
    assert (edr.module, edr.count, edr.severity) == (EDR, 4, "critical")
    assert "since 2026-11-23 (4 days)" in edr.message
    assert [i.module for i in stale_modules(facts, stale_days=2)] == [EDR, RMM]
    assert stale_modules(facts, stale_days=4) == []
    unbilled = Facts(TODAY, activity={RMM: activity(RMM, TODAY - timedelta(days=9))})
    assert [i.severity for i in stale_modules(unbilled)] == ["warning"]


def test_build_filters_kinds_and_puts_the_most_severe_first() -> None:
    facts = Facts(
        TODAY,
        activity={RMM: activity(RMM, TODAY - timedelta(days=10)), EDR: activity(EDR)},
        billing={RMM: BillingState(True)},
        unmapped_orgs=[UnmappedOrg(EDR, "x", "X", TODAY, TODAY, 2)],
    )
    assert [(i.kind, i.severity) for i in build(facts)] == [
        ("stale_module", "critical"),
        ("module_not_enabled", "warning"),
        ("unmapped_orgs", "warning"),
    ]
    assert [i.kind for i in build(facts, kinds=("unmapped_orgs",))] == ["unmapped_orgs"]
    assert build(facts, stale_days=30, kinds=KINDS)[0].kind == "module_not_enabled"
    assert build(Facts(TODAY)) == []
