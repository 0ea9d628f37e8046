"""The ``usage_without_contract`` rule: billed, recent usage of a company's service codes on
days no contract of the company carries them."""

from __future__ import annotations

from datetime import date

from services.mapping.insights.rules import (
    BillingState,
    ContractCover,
    Facts,
    MappedUsage,
    ModuleActivity,
    build,
    usage_window_start,
    usage_without_contract,
)

TODAY = date(2026, 11, 27)
RMM, EDR = "datto_rmm", "datto_edr"
BILLED = {RMM: BillingState(True, date(2025, 1, 1)), EDR: BillingState(True, date(2025, 1, 1))}
NOV = [date(2026, 11, d) for d in (10, 11, 12)]


def usage(
    module: str = RMM,
    metric: str = "servers",
    codes: tuple[str, ...] = ("SRV",),
    days: list[date] = NOV,
    company: str = "c-1",
) -> MappedUsage:
    return MappedUsage(company, module, metric, codes, frozenset(days))


def cover(
    *codes: str, start: date = date(2026, 1, 1), end: date | None = None, company: str = "c-1"
) -> ContractCover:
    return ContractCover(company, start, end, frozenset(codes))


def facts(*used: MappedUsage, contracts: tuple[ContractCover, ...] = ()) -> Facts:
    return Facts(
        TODAY,
        billing=BILLED,
        mapped_usage=used,
        contracts=contracts,
        company_names={"c-1": "Contoso Ltd", "c-2": "Fabrikam"},
    )


def test_the_window_starts_on_the_first_of_the_previous_month() -> None:
    assert usage_window_start(TODAY) == date(2026, 10, 1)
    assert usage_window_start(date(2026, 1, 1)) == date(2025, 12, 1)
    assert usage_window_start(date(2026, 3, 31)) == date(2026, 2, 1)


def test_usage_of_a_company_without_any_contract() -> None:
    [found] = usage_without_contract(facts(usage()))
    assert (found.kind, found.severity, found.company_id, found.module, found.count) == (
        "usage_without_contract",
        "critical",
        "c-1",
        RMM,
        1,
    )
    assert found.items == (
        {
            "service_code": "SRV",
            "module": RMM,
            "metric": "servers",
            "days": 3,
            "first_day": "2026-11-10",
            "last_day": "2026-11-12",
        },
    )
    assert found.message == (
        "Contoso Ltd has usage of 1 service (SRV) on 3 days since 2026-11-10 but no contract "
        "active on those days, so it is not billed."
    )


def test_a_contract_of_the_company_carrying_the_code_covers_it() -> None:
    assert usage_without_contract(facts(usage(), contracts=(cover("SRV"),))) == []
    # Another company's contract covers nothing of this one.
    other = cover("SRV", company="c-2")
    assert [i.company_id for i in usage_without_contract(facts(usage(), contracts=(other,)))] == [
        "c-1"
    ]


def test_a_code_the_contract_does_not_carry() -> None:
    used = usage(codes=("SRV", "BACKUP"))
    [found] = usage_without_contract(facts(used, contracts=(cover("SRV", "OTHER"),)))
    assert found.count == 1
    assert [i["service_code"] for i in found.items or ()] == ["BACKUP"]
    assert found.message.endswith(
        "(BACKUP) on 3 days since 2026-11-10 that none of its active contracts includes, so it "
        "is not billed."
    )


def test_only_the_days_outside_the_contract_are_uncovered() -> None:
    ended = cover("SRV", end=NOV[0])
    [found] = usage_without_contract(facts(usage(), contracts=(ended,)))
    assert found.items is not None
    assert (found.items[0]["days"], found.items[0]["first_day"]) == (2, "2026-11-11")
    assert "no contract active on those days" in found.message
    late = cover("SRV", start=NOV[2])
    [found] = usage_without_contract(facts(usage(), contracts=(late,)))
    assert found.items is not None
    assert (found.items[0]["days"], found.items[0]["last_day"]) == (2, "2026-11-11")
    both = (cover("SRV", end=NOV[0]), cover("SRV", start=NOV[1], end=NOV[2]))
    assert usage_without_contract(facts(usage(), contracts=both)) == []


def test_one_insight_per_company_counting_its_uncovered_codes() -> None:
    found = usage_without_contract(
        facts(
            usage(codes=("SRV", "ALL")),
            usage(EDR, "endpoints", ("EDR", "ALL")),
            usage(company="c-2"),
        )
    )
    assert [(i.company_id, i.count, i.module) for i in found] == [
        ("c-1", 3, None),
        ("c-2", 1, RMM),
    ]
    assert [(i["service_code"], i["module"], i["metric"]) for i in found[0].items or ()] == [
        ("ALL", EDR, "endpoints"),
        ("ALL", RMM, "servers"),
        ("EDR", EDR, "endpoints"),
        ("SRV", RMM, "servers"),
    ]
    assert found[0].message.startswith(
        "Contoso Ltd has usage of 3 services (ALL, EDR, SRV) on 3 days"
    )


def test_days_not_billed_or_before_the_window_do_not_count() -> None:
    old = [date(2026, 9, 30), date(2026, 10, 1)]
    [found] = usage_without_contract(facts(usage(days=old)))
    assert found.items is not None
    assert (found.items[0]["days"], found.items[0]["first_day"]) == (1, "2026-10-01")
    billed_late = Facts(TODAY, billing={RMM: BillingState(True, NOV[2])}, mapped_usage=(usage(),))
    [found] = usage_without_contract(billed_late)
    assert found.items is not None and found.items[0]["days"] == 1
    assert "Company c-1 has usage" in found.message  # a company mapping does not know
    for billing in ({}, {RMM: BillingState(False, date(2025, 1, 1))}):
        assert usage_without_contract(Facts(TODAY, billing=billing, mapped_usage=(usage(),))) == []


def test_metrics_without_a_service_are_another_insight() -> None:
    assert usage_without_contract(facts(usage(codes=()))) == []


def test_build_puts_it_with_the_critical_ones() -> None:
    mixed = Facts(
        TODAY,
        activity={EDR: ModuleActivity(EDR, 1, TODAY)},
        billing={RMM: BILLED[RMM]},
        mapped_usage=(usage(),),
    )
    assert [(i.kind, i.severity) for i in build(mixed)] == [
        ("usage_without_contract", "critical"),
        ("module_not_enabled", "warning"),
    ]
    assert [i.kind for i in build(mixed, kinds=("module_not_enabled",))] == ["module_not_enabled"]
