"""Mappings as the invoices see them, in the embedded system through the public API: usage
waiting for a mapping is billed once it is made, remapping moves exactly its units, exclusion
and removal unbill, and service mappings fan in, fan out and are overridden per company.

A month of constant daily counts with per-unit prices makes every expected line
``quantity = daily count`` and ``amount = daily count x price`` (PRODUCT.md section 4)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from services.mapping.resolution import reresolution
from tests.api.test_mapping_support import PERIOD_DAYS, MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

RMM, BACKUP = "datto_rmm", "datto_bcdr"


def line(quantity: int, price: str) -> tuple[Decimal, Decimal]:
    return Decimal(quantity), (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def test_usage_waits_for_its_mapping_then_is_billed(m: MappingApi) -> None:
    await m.usage(RMM, "org-1", "Contoso Ltd.", "servers", 4)
    await m.enable(RMM)
    await m.service_mapping(RMM, "servers", "SRV")
    contoso = await m.company("Contoso Ltd")
    await m.contract(contoso, ("SRV", "25.00"))
    await m.api.settle()

    waiting = await m.module_orgs(status="unmapped")
    assert [(o["org_id"], o["status"], o["company_id"]) for o in waiting] == [
        ("org-1", "unmapped", None)
    ]
    assert await m.draft_lines(contoso) == {}

    mapped = await m.map_org(RMM, "org-1", contoso)
    assert (mapped["reresolved"], mapped["queued"]) == (PERIOD_DAYS, False)
    assert await m.draft_lines(contoso) == {"SRV": line(4, "25.00")}
    assert await m.module_orgs(status="unmapped") == []


async def test_remapping_moves_exactly_the_orgs_units(m: MappingApi) -> None:
    await m.enable(RMM)
    await m.service_mapping(RMM, "servers", "SRV")
    x, y = await m.company("Xylo GmbH"), await m.company("Yonder AG")
    await m.contract(x, ("SRV", "10.00"))
    await m.contract(y, ("SRV", "10.00"))
    await m.usage(RMM, "x-main", "Xylo", "servers", 7)
    await m.usage(RMM, "y-main", "Yonder", "servers", 2)
    await m.usage(RMM, "site-2", "Second site", "servers", 3)
    await m.map_org(RMM, "x-main", x)
    await m.map_org(RMM, "y-main", y)
    await m.map_org(RMM, "site-2", x)
    assert await m.draft_lines(x) == {"SRV": line(10, "10.00")}
    assert await m.draft_lines(y) == {"SRV": line(2, "10.00")}

    await m.map_org(RMM, "site-2", y)

    assert await m.draft_lines(x) == {"SRV": line(7, "10.00")}
    assert await m.draft_lines(y) == {"SRV": line(5, "10.00")}
    on_y = ok(await m.api.client.get(f"/v1/companies/{y}/module-orgs"))["items"]
    assert sorted(o["org_id"] for o in on_y) == ["site-2", "y-main"]


async def test_exclusion_and_removal_unbill_the_org(m: MappingApi) -> None:
    await m.enable(RMM)
    await m.service_mapping(RMM, "servers", "SRV")
    c = await m.company("Contoso Ltd")
    await m.contract(c, ("SRV", "1.00"))
    await m.usage(RMM, "main", "Contoso", "servers", 6)
    await m.usage(RMM, "lab", "Contoso Lab", "servers", 9)
    await m.map_org(RMM, "main", c)
    await m.map_org(RMM, "lab", c)
    assert await m.draft_lines(c) == {"SRV": line(15, "1.00")}

    excluded = await m.map_org(RMM, "lab", excluded=True)
    assert (excluded["company_id"], excluded["excluded"]) == (None, True)
    assert await m.draft_lines(c) == {"SRV": line(6, "1.00")}
    assert [o["org_id"] for o in await m.module_orgs(status="excluded")] == ["lab"]

    await m.unmap_org(RMM, "main")
    assert await m.draft_lines(c) == {}
    assert [o["org_id"] for o in await m.module_orgs(status="unmapped")] == ["main"]
    missing = await m.api.client.delete(f"/v1/module-orgs/{RMM}/main/mapping")
    assert missing.status_code == 404


async def test_many_metrics_to_one_service_and_one_metric_to_many(m: MappingApi) -> None:
    await m.enable(RMM, BACKUP)
    c = await m.company("Contoso Ltd")
    await m.contract(c, ("DEVICES", "3.00"), ("BACKUP-AGENT", "5.00"), ("BACKUP-SUPPORT", "1.50"))
    await m.service_mapping(RMM, "servers", "DEVICES")
    await m.service_mapping(RMM, "desktops_laptops", "DEVICES")
    await m.service_mapping(BACKUP, "protected_agents", "BACKUP-AGENT", "BACKUP-SUPPORT")
    await m.usage(RMM, "r1", "Contoso", "servers", 2)
    await m.usage(RMM, "r1", "Contoso", "desktops_laptops", 11)
    await m.usage(BACKUP, "b1", "Contoso Ltd", "protected_agents", 4)
    await m.map_org(RMM, "r1", c)
    await m.map_org(BACKUP, "b1", c)

    assert await m.draft_lines(c) == {
        "DEVICES": line(13, "3.00"),
        "BACKUP-AGENT": line(4, "5.00"),
        "BACKUP-SUPPORT": line(4, "1.50"),
    }


async def test_company_override_wins_over_the_tenant_wide_mapping(m: MappingApi) -> None:
    await m.enable(RMM)
    plain, special = await m.company("Plain Ltd"), await m.company("Special Ltd")
    for company in (plain, special):
        await m.contract(company, ("SRV", "10.00"), ("SRV-PREMIUM", "30.00"))
    await m.service_mapping(RMM, "servers", "SRV")
    await m.usage(RMM, "p", "Plain", "servers", 2)
    await m.usage(RMM, "s", "Special", "servers", 3)
    await m.map_org(RMM, "p", plain)
    await m.map_org(RMM, "s", special)

    override = await m.service_mapping(RMM, "servers", "SRV-PREMIUM", company_id=special)
    assert (override["company_id"], override["reresolved"], override["queued"]) == (
        special,
        PERIOD_DAYS,
        False,
    )
    assert await m.draft_lines(plain) == {"SRV": line(2, "10.00")}
    assert await m.draft_lines(special) == {"SRV-PREMIUM": line(3, "30.00")}

    gone = await m.api.client.delete(f"/v1/companies/{special}/service-mappings/{RMM}/servers")
    assert gone.status_code == 204
    assert await m.draft_lines(special) == {"SRV": line(3, "10.00")}


async def test_a_service_mapping_answered_before_its_reresolution_says_it_is_queued(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await m.enable(RMM)
    c = await m.company("Contoso Ltd")
    await m.contract(c, ("SRV", "10.00"), ("SRV-2", "20.00"))
    await m.service_mapping(RMM, "servers", "SRV")
    await m.usage(RMM, "r1", "Contoso", "servers", 2)
    await m.usage(RMM, "r2", "Contoso site 2", "servers", 1)
    await m.map_org(RMM, "r1", c)
    await m.map_org(RMM, "r2", c)
    runtime = m.api.system.mapping
    monkeypatch.setattr(runtime.resolution_queue, "wait_seconds", 0)

    changed = await m.service_mapping(RMM, "servers", "SRV-2")

    assert (changed["reresolved"], changed["queued"]) == (2 * PERIOD_DAYS, True)
    deadline = time.monotonic() + 30
    while True:
        async with runtime.sessions() as session:
            if not await reresolution.waiting(session, m.api.tenant_id):
                break
        assert time.monotonic() < deadline, "the queued re-resolution was not worked off"
        await asyncio.sleep(0.02)
    assert await m.draft_lines(c) == {"SRV-2": line(3, "20.00")}
    listed = ok(await m.api.client.get("/v1/service-mappings"))["items"]
    assert [(x["metric"], x["service_codes"]) for x in listed] == [("servers", ["SRV-2"])]
