"""GET /v1/insights through the public API: each kind appears when its cause exists and
disappears once it is resolved."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

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
    assert ok(await m.api.client.get("/v1/insights")) != []
