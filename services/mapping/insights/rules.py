"""What needs the MSP's attention, from facts mapping knows: pure rules, no I/O.

Each rule turns facts into insights; an insight disappears as soon as its cause is gone,
because insights are computed from the current state, never stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from services.mapping.matching.scoring import Suggestion
from shared.catalog import CATALOG


class InsightKind(StrEnum):
    """What an insight is about; the order is the one answers list them in."""

    MODULE_NOT_ENABLED = "module_not_enabled"
    UNMAPPED_ORGS = "unmapped_orgs"
    UNMAPPED_METRIC = "unmapped_metric"
    USAGE_WITHOUT_CONTRACT = "usage_without_contract"
    STALE_MODULE = "stale_module"


KINDS: tuple[InsightKind, ...] = tuple(InsightKind)


class InsightSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


DEFAULT_STALE_DAYS = 3
_SEVERITY_ORDER = {InsightSeverity.CRITICAL: 0, InsightSeverity.WARNING: 1, InsightSeverity.INFO: 2}


@dataclass(frozen=True)
class ModuleActivity:
    module: str
    org_count: int
    last_seen: date


@dataclass(frozen=True)
class BillingState:
    enabled: bool
    effective_from: date | None = None


@dataclass(frozen=True)
class UnmappedOrg:
    module: str
    org_id: str
    org_name: str
    first_seen: date
    last_seen: date
    records: int
    """Usage records waiting for the mapping."""
    suggestions: tuple[Suggestion, ...] = ()


@dataclass(frozen=True)
class UnmappedMetric:
    """A mapped org reports a metric that no service mapping covers for its company."""

    module: str
    metric: str
    org_id: str
    company_id: str


@dataclass(frozen=True)
class MappedUsage:
    """The days on which the orgs mapped to a company reported units (quantity above 0) of
    a metric, and the service codes the metric resolves to for that company."""

    company_id: str
    module: str
    metric: str
    service_codes: tuple[str, ...]
    days: frozenset[date]


@dataclass(frozen=True)
class ContractCover:
    """What a contract covers: its company's usage of its service codes on its active days."""

    company_id: str
    start_date: date
    end_date: date | None
    service_codes: frozenset[str]

    def active(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def covers(self, service_code: str, day: date) -> bool:
        return service_code in self.service_codes and self.active(day)


@dataclass(frozen=True)
class Facts:
    today: date
    activity: Mapping[str, ModuleActivity] = field(default_factory=dict)
    billing: Mapping[str, BillingState] = field(default_factory=dict)
    unmapped_orgs: Sequence[UnmappedOrg] = ()
    unmapped_metrics: Sequence[UnmappedMetric] = ()
    mapped_usage: Sequence[MappedUsage] = ()
    contracts: Sequence[ContractCover] = ()
    company_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Insight:
    kind: InsightKind
    severity: InsightSeverity
    message: str
    count: int
    module: str | None = None
    metric: str | None = None
    org_id: str | None = None
    company_id: str | None = None
    items: tuple[dict[str, Any], ...] | None = None
    suggestions: tuple[Suggestion, ...] | None = None


def module_name(module: str) -> str:
    entry = CATALOG.module(module)
    return entry.name if entry is not None else module


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def modules_not_enabled(facts: Facts) -> list[Insight]:
    out = []
    for module, activity in sorted(facts.activity.items()):
        state = facts.billing.get(module)
        if state is not None and state.enabled:
            continue
        out.append(
            Insight(
                kind=InsightKind.MODULE_NOT_ENABLED,
                severity=InsightSeverity.WARNING,
                module=module,
                count=activity.org_count,
                message=f"{module_name(module)} sends usage for "
                f"{_plural(activity.org_count, 'organisation')} but billing is not enabled "
                "for it.",
            )
        )
    return out


def unmapped_orgs(facts: Facts) -> list[Insight]:
    return [
        Insight(
            kind=InsightKind.UNMAPPED_ORGS,
            severity=InsightSeverity.WARNING,
            module=org.module,
            org_id=org.org_id,
            count=org.records,
            suggestions=org.suggestions,
            message=f"Integrated billing is available for a new organisation: "
            f"{org.org_name!r} in {module_name(org.module)} "
            f"({_plural(org.records, 'usage record')} waiting since {org.first_seen}).",
        )
        for org in sorted(facts.unmapped_orgs, key=lambda o: (o.module, o.org_name, o.org_id))
    ]


def unmapped_metrics(facts: Facts) -> list[Insight]:
    by_metric: dict[tuple[str, str], list[UnmappedMetric]] = defaultdict(list)
    for item in facts.unmapped_metrics:
        by_metric[(item.module, item.metric)].append(item)
    out = []
    for (module, metric), items in sorted(by_metric.items()):
        companies = {i.company_id for i in items}
        out.append(
            Insight(
                kind=InsightKind.UNMAPPED_METRIC,
                severity=InsightSeverity.WARNING,
                module=module,
                metric=metric,
                count=len(companies),
                company_id=next(iter(companies)) if len(companies) == 1 else None,
                items=tuple(
                    {"company_id": i.company_id, "org_id": i.org_id}
                    for i in sorted(items, key=lambda i: (i.company_id, i.org_id))
                ),
                message=f"{module_name(module)} reports {metric!r} for "
                f"{_plural(len(companies), 'company')} but no service is mapped to it, "
                "so it is not billed.",
            )
        )
    return out


def usage_window_start(today: date) -> date:
    """The first day ``usage_without_contract`` looks at: the first of the previous month.
    The current month is not billed yet and the previous one is the next to be (or was just):
    a contract made now still reaches their drafts, or a correction of a fresh invoice. Older
    months are left out so that settled history does not keep the insight open."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _billed(state: BillingState | None, day: date) -> bool:
    return (
        state is not None
        and state.enabled
        and (state.effective_from is None or state.effective_from <= day)
    )


def usage_without_contract(facts: Facts) -> list[Insight]:
    """One insight per company whose billed usage since ``usage_window_start`` resolves to
    service codes that no contract of the company carries on the day of the usage: the billing
    run bills such usage nowhere. Days of modules not billed are left out (that is
    ``module_not_enabled``), and so are metrics without a service (``unmapped_metric``).

    ``count``: the service codes not covered. ``items``: one per service code and source
    ``(module, metric)`` with the number of uncovered days and the first and last of them."""
    since = usage_window_start(facts.today)
    contracts: dict[str, list[ContractCover]] = defaultdict(list)
    for contract in facts.contracts:
        contracts[contract.company_id].append(contract)
    uncovered: dict[str, list[tuple[str, MappedUsage, list[date]]]] = defaultdict(list)
    for usage in facts.mapped_usage:
        state = facts.billing.get(usage.module)
        days = sorted(d for d in usage.days if d >= since and _billed(state, d))
        covers = contracts[usage.company_id]
        for code in set(usage.service_codes):
            missing = [d for d in days if not any(c.covers(code, d) for c in covers)]
            if missing:
                uncovered[usage.company_id].append((code, usage, missing))
    out = []
    for company_id, found in sorted(uncovered.items()):
        found.sort(key=lambda f: (f[0], f[1].module, f[1].metric))
        codes = sorted({code for code, _, _ in found})
        modules = {usage.module for _, usage, _ in found}
        days = sorted({d for _, _, missing in found for d in missing})
        under_contract = any(c.active(d) for c in contracts[company_id] for d in days)
        name = facts.company_names.get(company_id, f"Company {company_id}")
        what = (
            f"{name} has usage of {_plural(len(codes), 'service')} ({', '.join(codes)}) on "
            f"{_plural(len(days), 'day')} since {days[0]}"
        )
        out.append(
            Insight(
                kind=InsightKind.USAGE_WITHOUT_CONTRACT,
                severity=InsightSeverity.CRITICAL,
                company_id=company_id,
                module=next(iter(modules)) if len(modules) == 1 else None,
                count=len(codes),
                items=tuple(
                    {
                        "service_code": code,
                        "module": usage.module,
                        "metric": usage.metric,
                        "days": len(missing),
                        "first_day": missing[0].isoformat(),
                        "last_day": missing[-1].isoformat(),
                    }
                    for code, usage, missing in found
                ),
                message=f"{what} that none of its active contracts includes, so it is not billed."
                if under_contract
                else f"{what} but no contract active on those days, so it is not billed.",
            )
        )
    return out


def stale_modules(facts: Facts, stale_days: int = DEFAULT_STALE_DAYS) -> list[Insight]:
    out = []
    for module, activity in sorted(facts.activity.items()):
        silent = (facts.today - activity.last_seen).days
        if silent <= stale_days:
            continue
        state = facts.billing.get(module)
        billed = state is not None and state.enabled
        out.append(
            Insight(
                kind=InsightKind.STALE_MODULE,
                severity=InsightSeverity.CRITICAL if billed else InsightSeverity.WARNING,
                module=module,
                count=silent,
                message=f"No usage from {module_name(module)} since {activity.last_seen} "
                f"({_plural(silent, 'day')}): its daily sync may have stopped.",
            )
        )
    return out


def severity_rank(severity: InsightSeverity) -> int:
    """0 for the most severe."""
    return _SEVERITY_ORDER[severity]


def build(
    facts: Facts, stale_days: int = DEFAULT_STALE_DAYS, kinds: Sequence[InsightKind] = KINDS
) -> list[Insight]:
    """Every insight of the asked kinds, the most severe first."""
    rules: dict[InsightKind, Callable[[Facts], list[Insight]]] = {
        InsightKind.MODULE_NOT_ENABLED: modules_not_enabled,
        InsightKind.UNMAPPED_ORGS: unmapped_orgs,
        InsightKind.UNMAPPED_METRIC: unmapped_metrics,
        InsightKind.USAGE_WITHOUT_CONTRACT: usage_without_contract,
        InsightKind.STALE_MODULE: lambda f: stale_modules(f, stale_days),
    }
    found = [insight for kind in kinds for insight in rules[kind](facts)]
    return sorted(found, key=lambda i: severity_rank(i.severity))
