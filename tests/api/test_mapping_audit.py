"""GET /v1/mapping-audit: every mapping change with who (API key id), when, before and after,
newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.test_mapping_support import MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

RMM = "datto_rmm"


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def entries(m: MappingApi, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await m.api.client.get("/v1/mapping-audit", params=params))["items"])


async def test_every_mapping_change_is_recorded_with_who_when_before_after(m: MappingApi) -> None:
    x, y = await m.company("Xylo Ltd"), await m.company("Contoso Ltd")
    await m.usage(RMM, "r1", "Some org", "servers", 1)
    await m.usage(RMM, "r2", "contoso-ltd", "servers", 1)
    await m.api.settle()
    started = datetime.now(UTC)
    key_id, billing = await m.key("billing")
    async with billing:
        for method, path, body in [
            ("PUT", f"/v1/module-orgs/{RMM}/r1/mapping", {"company_id": x}),
            ("PUT", f"/v1/module-orgs/{RMM}/r1/mapping", {"company_id": x}),  # no change
            ("PUT", f"/v1/module-orgs/{RMM}/r1/mapping", {"excluded": True}),
            ("DELETE", f"/v1/module-orgs/{RMM}/r1/mapping", None),
            ("PUT", f"/v1/service-mappings/{RMM}/servers", {"service_codes": ["SRV"]}),
            ("PUT", f"/v1/service-mappings/{RMM}/servers", {"service_codes": ["SRV", "X"]}),
            (
                "PUT",
                f"/v1/companies/{x}/service-mappings/{RMM}/servers",
                {"service_codes": ["VIP"]},
            ),
            ("DELETE", f"/v1/companies/{x}/service-mappings/{RMM}/servers", None),
            ("POST", "/v1/module-orgs/auto-map", {}),
        ]:
            response = await billing.request(method, path, json=body)
            assert response.status_code in (200, 204), response.text

    log = await entries(m)
    assert all(e["actor"] == key_id for e in log)
    assert all(
        started - timedelta(seconds=1) <= datetime.fromisoformat(e["at"]) <= datetime.now(UTC)
        for e in log
    )
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    got = [
        (e["action"], e["org_id"], e["metric"], e["company_id"], e["before"], e["after"])
        for e in reversed(log)
    ]
    assert got == [
        ("org_mapping.put", "r1", None, None, None, {"company_id": x, "excluded": False}),
        (
            "org_mapping.put",
            "r1",
            None,
            None,
            {"company_id": x, "excluded": False},
            {"company_id": None, "excluded": True},
        ),
        ("org_mapping.delete", "r1", None, None, {"company_id": None, "excluded": True}, None),
        ("service_mapping.put", None, "servers", None, None, {"service_codes": ["SRV"]}),
        (
            "service_mapping.put",
            None,
            "servers",
            None,
            {"service_codes": ["SRV"]},
            {"service_codes": ["SRV", "X"]},
        ),
        ("service_mapping.put", None, "servers", x, None, {"service_codes": ["VIP"]}),
        ("service_mapping.delete", None, "servers", x, {"service_codes": ["VIP"]}, None),
        ("org_mapping.auto_map", "r2", None, None, None, {"company_id": y, "excluded": False}),
    ]


async def test_pages_filters_and_roles(m: MappingApi) -> None:
    c = await m.company("Contoso Ltd")
    for org_id in ("a", "b", "c"):
        await m.map_org(RMM, org_id, c)
    await m.map_org("datto_edr", "d", c)

    first = ok(await m.api.client.get("/v1/mapping-audit", params={"limit": 3}))
    second = ok(
        await m.api.client.get(
            "/v1/mapping-audit", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    )
    assert [e["org_id"] for e in first["items"] + second["items"]] == ["d", "c", "b", "a"]
    assert second["next_cursor"] is None
    assert [e["org_id"] for e in await entries(m, module=RMM, org_id="b")] == ["b"]
    assert [
        e["org_id"] for e in await entries(m, action="org_mapping.put", module="datto_edr")
    ] == ["d"]
    assert await entries(m, **{"from": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}) == []
    assert len(await entries(m, to=(datetime.now(UTC) + timedelta(hours=1)).isoformat())) == 4

    _, viewer = await m.key("viewer")
    _, ingest = await m.key("ingest")
    async with viewer, ingest:
        assert (await viewer.get("/v1/mapping-audit")).status_code == 200
        assert (await ingest.get("/v1/mapping-audit")).status_code == 403
    other = await m.api.new_tenant()
    async with other:
        assert ok(await other.get("/v1/mapping-audit"))["items"] == []
