from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import get_args

import pytest

from services.mapping.resolution.rules import MappingStatus, OrgTarget, Resolver, status_of
from shared import events as shared_events
from shared.events import ResolvedUsage

DAY = date(2026, 2, 10)
QTY = Decimal("12.5000")


def resolve(resolver: Resolver, org_id: str = "org-1", metric: str = "storage_tb") -> ResolvedUsage:
    return resolver.resolve("datto_azure_backup", org_id, metric, DAY, QTY, 3)


def test_unknown_org_is_unmapped() -> None:
    resolver = Resolver(tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)})
    assert resolve(resolver) == ResolvedUsage(
        module="datto_azure_backup",
        org_id="org-1",
        metric="storage_tb",
        date=DAY,
        quantity=QTY,
        version=3,
        status="unmapped",
    )


def test_org_without_company_and_not_excluded_is_unmapped() -> None:
    resolver = Resolver(orgs={("datto_azure_backup", "org-1"): OrgTarget(None, False)})
    usage = resolve(resolver)
    assert (usage.status, usage.company_id, usage.service_codes) == ("unmapped", None, ())


@pytest.mark.parametrize("company_id", [None, "c-1"])
def test_excluded_org_is_excluded_whatever_its_company(company_id: str | None) -> None:
    resolver = Resolver(
        orgs={("datto_azure_backup", "org-1"): OrgTarget(company_id, True)},
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
    )
    usage = resolve(resolver)
    assert (usage.status, usage.company_id, usage.service_codes) == ("excluded", None, ())


def test_mapped_org_takes_the_tenant_wide_codes() -> None:
    resolver = Resolver(
        orgs={("datto_azure_backup", "org-1"): OrgTarget("c-1", False)},
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
    )
    assert resolve(resolver) == ResolvedUsage(
        module="datto_azure_backup",
        org_id="org-1",
        metric="storage_tb",
        date=DAY,
        quantity=QTY,
        version=3,
        status="mapped",
        company_id="c-1",
        service_codes=("STOR",),
    )


def test_mapped_org_without_service_mapping_has_no_codes() -> None:
    resolver = Resolver(
        orgs={("datto_azure_backup", "org-1"): OrgTarget("c-1", False)},
        tenant_services={("datto_azure_backup", "protected_vms"): ("VM",)},
    )
    usage = resolve(resolver)
    assert (usage.status, usage.company_id, usage.service_codes) == ("mapped", "c-1", ())


def test_company_override_wins_over_the_tenant_wide_codes() -> None:
    resolver = Resolver(
        orgs={
            ("datto_azure_backup", "org-1"): OrgTarget("c-1", False),
            ("datto_azure_backup", "org-2"): OrgTarget("c-2", False),
        },
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
        company_services={("datto_azure_backup", "storage_tb", "c-1"): ("STOR-PREMIUM",)},
    )
    assert resolve(resolver, "org-1").service_codes == ("STOR-PREMIUM",)
    assert resolve(resolver, "org-2").service_codes == ("STOR",)  # c-2 has no override
    assert resolver.services("datto_azure_backup", "storage_tb", "c-1") == ("STOR-PREMIUM",)
    assert resolver.services("datto_azure_backup", "storage_tb", "c-3") == ("STOR",)


def test_override_of_another_metric_does_not_apply() -> None:
    resolver = Resolver(
        orgs={("datto_azure_backup", "org-1"): OrgTarget("c-1", False)},
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
        company_services={("datto_azure_backup", "protected_vms", "c-1"): ("VM-PREMIUM",)},
    )
    assert resolve(resolver).service_codes == ("STOR",)


def test_many_orgs_to_one_company() -> None:
    resolver = Resolver(
        orgs={
            ("datto_azure_backup", "org-1"): OrgTarget("c-1", False),
            ("datto_azure_backup", "org-2"): OrgTarget("c-1", False),
            ("datto_azure_backup", "org-3"): OrgTarget("c-1", False),
        },
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
    )
    resolved = [resolve(resolver, org) for org in ("org-1", "org-2", "org-3")]
    assert [(u.org_id, u.status, u.company_id, u.service_codes) for u in resolved] == [
        ("org-1", "mapped", "c-1", ("STOR",)),
        ("org-2", "mapped", "c-1", ("STOR",)),
        ("org-3", "mapped", "c-1", ("STOR",)),
    ]


def test_one_metric_to_many_services_keeps_their_order() -> None:
    codes = ("STOR-BASE", "STOR-OVERAGE", "STOR-OFFSITE")
    resolver = Resolver(
        orgs={("datto_azure_backup", "org-1"): OrgTarget("c-1", False)},
        tenant_services={("datto_azure_backup", "storage_tb"): codes},
        company_services={("datto_azure_backup", "storage_tb", "c-2"): ("OTHER",)},
    )
    assert resolve(resolver).service_codes == codes


def test_org_keys_are_per_module() -> None:
    resolver = Resolver(orgs={("dark_web_id", "org-1"): OrgTarget("c-1", False)})
    assert resolve(resolver).status == "unmapped"
    other = resolver.resolve("dark_web_id", "org-1", "domains", DAY, Decimal("2"), 1)
    assert (other.status, other.company_id, other.quantity, other.version) == (
        "mapped",
        "c-1",
        Decimal("2"),
        1,
    )


def test_resolving_many_records_at_once_equals_resolving_each() -> None:
    """``resolve_all`` decides each (module, org, metric) once; every record keeps its own
    day, quantity and version, and every kind of resolution comes out as ``resolve`` says."""
    resolver = Resolver(
        orgs={
            ("datto_azure_backup", "org-1"): OrgTarget("c-1", False),
            ("datto_azure_backup", "org-2"): OrgTarget("c-2", False),
            ("datto_azure_backup", "org-3"): OrgTarget("c-1", True),
        },
        tenant_services={("datto_azure_backup", "storage_tb"): ("STOR",)},
        company_services={("datto_azure_backup", "storage_tb", "c-2"): ("STOR-PREMIUM",)},
    )
    rows = [
        ("datto_azure_backup", org, metric, date(2026, 2, day), Decimal(f"{day}.{n}"), day + n)
        for day in (1, 2, 3)
        for n, (org, metric) in enumerate(
            [
                ("org-1", "storage_tb"),
                ("org-1", "protected_vms"),
                ("org-2", "storage_tb"),
                ("org-3", "storage_tb"),
                ("org-4", "storage_tb"),
            ]
        )
    ]
    resolved = resolver.resolve_all(rows)
    assert resolved == [resolver.resolve(*row) for row in rows]
    assert [(u.org_id, u.date.day, u.quantity, u.version) for u in resolved] == [
        (org, day.day, quantity, version) for _, org, _, day, quantity, version in rows
    ]
    assert {(u.org_id, u.metric, u.status, u.company_id, u.service_codes) for u in resolved} == {
        ("org-1", "storage_tb", "mapped", "c-1", ("STOR",)),
        ("org-1", "protected_vms", "mapped", "c-1", ()),
        ("org-2", "storage_tb", "mapped", "c-2", ("STOR-PREMIUM",)),
        ("org-3", "storage_tb", "excluded", None, ()),
        ("org-4", "storage_tb", "unmapped", None, ()),
    }


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (None, MappingStatus.UNMAPPED),
        (OrgTarget(None, False), MappingStatus.UNMAPPED),
        (OrgTarget("c-1", False), MappingStatus.MAPPED),
        (OrgTarget(None, True), MappingStatus.EXCLUDED),
        (OrgTarget("c-1", True), MappingStatus.EXCLUDED),  # exclusion wins
    ],
)
def test_the_status_of_a_mapping(target: OrgTarget | None, status: MappingStatus) -> None:
    assert status_of(target) is status
    resolver = Resolver(orgs={} if target is None else {("datto_azure_backup", "org-1"): target})
    assert resolve(resolver).status == status.value


def test_mapping_statuses_are_the_wire_values_of_usage_resolved() -> None:
    assert set(MappingStatus) == set(get_args(shared_events.MappingStatus))
