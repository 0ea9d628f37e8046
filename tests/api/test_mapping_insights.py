"""GET /v1/insights through the public API: each kind appears when its cause exists and
disappears once it is resolved."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from services.mapping.insights import rules as insights
from services.mapping.insights.facts import unmapped_orgs
from services.mapping.insights.rules import usage_window_start
from tests.api.test_mapping_support import TODAY, MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

RMM = "datto_rmm"
RECENT = [TODAY - timedelta(days=d) for d in (2, 1)]


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def of_kind(m: MappingApi, kind: str, **params: Any) -> list[dict[str, Any]]:
    await m.api.settle()
    found = await m.insights(**params)
    assert all({"kind", "severity", "message", "count"} <= i.keys() for i in found)
    return [i for i in found if i["kind"] == kind]


async def test_module_not_enabled_until_billing_is_enabled(m: MappingApi) -> None:
    await m.usage(RMM, "r1", "Contoso", "servers", 3, RECENT)
    await m.usage(RMM, "r2", "Fabrikam", "servers", 3, RECENT)
    [found] = await of_kind(m, "module_not_enabled")
    assert (found["module"], found["count"], found["severity"]) == (RMM, 2, "warning")
    assert "Datto RMM" in found["message"]

    await m.enable(RMM, since=TODAY)
    assert await of_kind(m, "module_not_enabled") == []
    await m.disable(RMM)
    assert [i["module"] for i in await of_kind(m, "module_not_enabled")] == [RMM]


async def test_unmapped_org_with_suggestions_until_mapped(m: MappingApi) -> None:
    contoso = await m.company("Contoso Ltd")
    await m.usage(RMM, "r1", "CONTOSO LIMITED", "servers", 3, RECENT)
    [found] = await of_kind(m, "unmapped_orgs")
    assert (found["module"], found["org_id"], found["count"]) == (RMM, "r1", 2)
    assert found["message"].startswith("Integrated billing is available for a new organisation")
    assert found["suggestions"][0] == {
        "company_id": contoso,
        "name": "Contoso Ltd",
        "score": 1.0,
        "evidence": None,
    }

    await m.map_org(RMM, "r1", contoso)
    assert await of_kind(m, "unmapped_orgs") == []
    await m.unmap_org(RMM, "r1")
    assert [i["org_id"] for i in await of_kind(m, "unmapped_orgs")] == ["r1"]
    await m.map_org(RMM, "r1", excluded=True)
    assert await of_kind(m, "unmapped_orgs") == []


async def test_unmapped_metric_until_a_service_is_mapped(m: MappingApi) -> None:
    contoso, other = await m.company("Contoso Ltd"), await m.company("Other Ltd")
    await m.usage(RMM, "r1", "Contoso", "servers", 3, RECENT)
    await m.usage(RMM, "r1", "Contoso", "desktops_laptops", 3, RECENT)
    await m.usage(RMM, "r2", "Other", "servers", 1, RECENT)
    await m.usage(RMM, "r3", "Nobody's", "network_devices", 1, RECENT)
    assert await of_kind(m, "unmapped_metric") == []  # unmapped orgs are another insight
    await m.map_org(RMM, "r1", contoso)
    await m.map_org(RMM, "r2", other)

    found = {i["metric"]: i for i in await of_kind(m, "unmapped_metric")}
    assert sorted(found) == ["desktops_laptops", "servers"]
    assert (found["servers"]["count"], found["servers"].get("company_id")) == (2, None)
    assert found["servers"]["items"] == sorted(
        [{"company_id": contoso, "org_id": "r1"}, {"company_id": other, "org_id": "r2"}],
        key=lambda i: (i["company_id"], i["org_id"]),
    )
    assert found["desktops_laptops"]["company_id"] == contoso

    await m.service_mapping(RMM, "servers", "SRV", company_id=contoso)
    [servers] = [i for i in await of_kind(m, "unmapped_metric") if i["metric"] == "servers"]
    assert servers["items"] == [{"company_id": other, "org_id": "r2"}]
    await m.service_mapping(RMM, "servers", "SRV")
    await m.service_mapping(RMM, "desktops_laptops", "DESK")
    assert await of_kind(m, "unmapped_metric") == []


async def test_stale_module_until_data_arrives_again(m: MappingApi) -> None:
    await m.enable(RMM, since=TODAY - timedelta(days=30))
    await m.usage(
        RMM, "r1", "Contoso", "servers", 3, [TODAY - timedelta(days=d) for d in (7, 6, 5)]
    )
    [found] = await of_kind(m, "stale_module")
    assert (found["module"], found["count"], found["severity"]) == (RMM, 5, "critical")
    assert await of_kind(m, "stale_module", stale_days=5) == []
    assert [i["count"] for i in await of_kind(m, "stale_module", stale_days=4)] == [5]

    await m.usage(RMM, "r1", "Contoso", "servers", 3, [TODAY - timedelta(days=1)])
    assert await of_kind(m, "stale_module") == []


async def without_contract(m: MappingApi) -> dict[str, dict[str, Any]]:
    """The ``usage_without_contract`` insights by company."""
    found = await of_kind(m, "usage_without_contract")
    by_company = {i["company_id"]: i for i in found}
    assert len(by_company) == len(found)
    return by_company


async def patch_contract(m: MappingApi, contract_id: str, **changes: Any) -> None:
    ok(await m.api.client.patch(f"/v1/contracts/{contract_id}", json=changes))


async def replace_services(m: MappingApi, contract_id: str, services: list[Any]) -> None:
    """New service terms for the whole contract: an amendment from its start date."""
    contract = ok(await m.api.client.get(f"/v1/contracts/{contract_id}"))
    body = {"effective_from": contract["start_date"], "services": services}
    ok(await m.api.client.post(f"/v1/contracts/{contract_id}/amendments", json=body), 201)


def srv_item(days: list[date], code: str = "SRV", metric: str = "servers") -> dict[str, Any]:
    return {
        "service_code": code,
        "module": RMM,
        "metric": metric,
        "days": len(days),
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
    }


async def billed_usage(m: MappingApi, company: str, days: list[date] = RECENT) -> None:
    """Contoso's RMM servers, billed from long ago and mapped to ``SRV``."""
    await m.enable(RMM, since=TODAY - timedelta(days=400))
    await m.usage(RMM, "r1", "Contoso", "servers", 3, days)
    await m.map_org(RMM, "r1", company)
    await m.service_mapping(RMM, "servers", "SRV")


async def test_usage_without_contract_until_a_contract_covers_it(m: MappingApi) -> None:
    contoso = await m.company("Contoso Ltd")
    await billed_usage(m, contoso)
    found = (await without_contract(m))[contoso]
    assert (found["severity"], found["count"], found["module"]) == ("critical", 1, RMM)
    assert found["items"] == [srv_item(RECENT)]
    assert found["message"] == (
        f"Contoso Ltd has usage of 1 service (SRV) on 2 days since {RECENT[0]} but no "
        "contract active on those days, so it is not billed."
    )

    await m.contract(contoso, ("SRV", "5.00"))
    assert await without_contract(m) == {}


async def test_usage_of_a_service_the_contract_does_not_carry(m: MappingApi) -> None:
    contoso = await m.company("Contoso Ltd")
    await billed_usage(m, contoso)
    await m.usage(RMM, "r1", "Contoso", "desktops_laptops", 7, RECENT)
    await m.service_mapping(RMM, "desktops_laptops", "DESK", "SRV")
    contract = await m.contract(contoso, ("SRV", "5.00"))

    found = (await without_contract(m))[contoso]
    assert found["count"] == 1
    assert found["items"] == [srv_item(RECENT, "DESK", "desktops_laptops")]
    assert "(DESK)" in found["message"]
    assert "none of its active contracts includes" in found["message"]

    services = [
        {"service_code": code, "name": code, "unit_price": "1.00"} for code in ("SRV", "DESK")
    ]
    await replace_services(m, contract, services)
    assert await without_contract(m) == {}
    await replace_services(m, contract, services[:1])
    assert [i["service_code"] for i in (await without_contract(m))[contoso]["items"]] == ["DESK"]
    # A company override that feeds only covered services resolves it as well.
    await m.service_mapping(RMM, "desktops_laptops", "SRV", company_id=contoso)
    assert await without_contract(m) == {}


async def test_contract_dates_decide_which_days_are_covered(m: MappingApi) -> None:
    contoso = await m.company("Contoso Ltd")
    await billed_usage(m, contoso)
    contract = await m.contract(contoso, ("SRV", "5.00"))
    assert await without_contract(m) == {}

    await patch_contract(m, contract, end_date=(RECENT[0] - timedelta(days=1)).isoformat())
    found = (await without_contract(m))[contoso]
    assert found["items"] == [srv_item(RECENT)]
    assert "no contract active on those days" in found["message"]

    await patch_contract(m, contract, end_date=RECENT[0].isoformat())
    assert (await without_contract(m))[contoso]["items"] == [srv_item(RECENT[1:])]
    await patch_contract(m, contract, end_date=None)
    assert await without_contract(m) == {}


async def test_only_billed_recent_usage_of_mapped_orgs_counts(m: MappingApi) -> None:
    contoso, fabrikam = await m.company("Contoso Ltd"), await m.company("Fabrikam")
    window = usage_window_start(TODAY)
    await billed_usage(m, contoso, [window - timedelta(days=1)])
    await m.usage(RMM, "r2", "Fabrikam", "servers", 0, RECENT)
    await m.map_org(RMM, "r2", fabrikam)
    await m.usage(RMM, "r3", "Unmapped", "servers", 4, RECENT)
    await m.usage("datto_edr", "e1", "Contoso", "endpoints", 4, RECENT)
    await m.map_org("datto_edr", "e1", contoso)
    await m.service_mapping("datto_edr", "endpoints", "EDR")
    assert await without_contract(m) == {}  # too old, zero, unmapped, module not billed

    await m.enable("datto_edr", since=RECENT[1])
    found = (await without_contract(m))[contoso]
    assert found["items"] == [{**srv_item(RECENT[1:], "EDR", "endpoints"), "module": "datto_edr"}]
    await m.usage(RMM, "r1", "Contoso", "servers", 3, [window])
    found = (await without_contract(m))[contoso]
    assert (found["count"], "module" in found) == (2, False)
    assert [i["service_code"] for i in found["items"]] == ["EDR", "SRV"]


async def test_kind_filter_and_bad_parameters(m: MappingApi) -> None:
    await m.usage(RMM, "r1", "Contoso", "servers", 3, [TODAY - timedelta(days=9)])
    await m.api.settle()
    kinds = sorted({i["kind"] for i in await m.insights()})
    assert kinds == ["module_not_enabled", "stale_module", "unmapped_orgs"]
    only = await m.insights(kind="stale_module,unmapped_orgs")
    assert sorted({i["kind"] for i in only}) == ["stale_module", "unmapped_orgs"]
    assert {i["kind"] for i in await m.insights(kind="stale_module")} == {"stale_module"}
    for params in (
        {"kind": "nope"},
        {"kind": "stale_module,nope"},
        {"stale_days": 0},
        {"stale_days": "x"},
    ):
        response = await m.api.client.get("/v1/insights", params=params)
        assert response.status_code == 422, params
    assert ok(await m.api.client.get("/v1/insights"))["items"] != []


async def test_the_public_api_document_lists_every_kind(m: MappingApi) -> None:
    doc = ok(await m.api.client.get("/openapi.json"))
    schemas = doc["components"]["schemas"]
    ref = schemas["InsightOut"]["properties"]["kind"]["$ref"]
    assert schemas[ref.removeprefix("#/components/schemas/")]["enum"] == [
        "module_not_enabled",
        "unmapped_orgs",
        "unmapped_metric",
        "usage_without_contract",
        "stale_module",
        "sync_failed",
        "usage_anomaly",
        "webhook_endpoint_disabled",
    ]
    assert "usage_without_contract" in doc["paths"]["/v1/insights"]["get"]["description"]


NAMES = ("CONTOSO LIMITED", "Fabrikam", "Zeta", "Contoso HQ", "alpha", "Ärzte", "Émile", "_x", "b")


async def pages(m: MappingApi, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = ok(await m.api.client.get("/v1/insights", params=params))
        assert len(page["items"]) <= limit
        found.extend(page["items"])
        if not (cursor := page["next_cursor"]):
            return found


async def test_pages_of_a_varied_tenant_join_into_the_whole_list(m: MappingApi) -> None:
    """Suggestions are ranked per page and the gateway asks each service only for what the
    page needs: any paging gives the whole list, and an org's suggestions are the queue's."""
    contoso, fabrikam = await m.company("Contoso Ltd"), await m.company("Fabrikam Inc")
    await m.company("Contoso Holdings")
    for n, name in enumerate(NAMES):
        await m.usage(RMM, f"r{n}", name, "servers", n + 1, RECENT)
    await m.usage(RMM, "r10", "Zeta", "servers", 1, RECENT)
    await m.usage("datto_edr", "e2", "Contoso", "endpoints", 2, [TODAY - timedelta(days=9)])
    await m.map_org(RMM, "r1", fabrikam)
    await m.usage(RMM, "r1", "Fabrikam", "desktops_laptops", 1, RECENT)
    await m.map_org("datto_edr", "e2", contoso)
    await m.enable("datto_edr", since=TODAY - timedelta(days=30))
    await m.api.settle()

    whole = await m.insights()
    kinds = {i["kind"] for i in whole}
    assert {"unmapped_orgs", "module_not_enabled", "stale_module", "unmapped_metric"} <= kinds
    severities = [i["severity"] for i in whole]
    assert severities[0] == "critical"
    assert severities == sorted(severities, key=("critical", "warning", "info").index)
    for limit in (1, 2, 3, 5, len(whole) - 1, len(whole)):
        assert await pages(m, limit) == whole, limit

    queue = {(o["module"], o["org_id"]): o for o in await m.module_orgs(status="unmapped")}
    orgs = [i for i in whole if i["kind"] == "unmapped_orgs"]
    assert {(i["module"], i["org_id"]) for i in orgs} == set(queue)
    assert any(i["suggestions"] for i in orgs)
    for i in orgs:
        assert i["suggestions"] == queue[(i["module"], i["org_id"])]["suggestions"], i
    assert [i["org_id"] for i in orgs] == [i.org_id for i in await defined(m)]


async def defined(m: MappingApi) -> list[insights.Insight]:
    """``unmapped_orgs`` as the rule defines them, from every waiting org loaded whole."""
    async with m.api.system.mapping.sessions() as session:
        found = await unmapped_orgs(session, m.api.tenant_id)
    shuffled = sorted(found, key=lambda o: o.org_id, reverse=True)
    return insights.unmapped_orgs(insights.Facts(TODAY, unmapped_orgs=shuffled))
