"""The audit trail: every write through the gateway (key, route, time, outcome), for admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import EmbeddedApi


def as_key(api: EmbeddedApi, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.system.app),
        base_url="http://icb.test",
        headers=headers,
    )


async def test_every_write_is_recorded_with_its_key_and_outcome(
    embedded_api: EmbeddedApi,
) -> None:
    admin = embedded_api.client
    admin_id = embedded_api.key.split("_")[1]
    started = datetime.now(UTC)
    created = await admin.post(
        "/v1/companies", json={"name": "Contoso"}, headers={"x-request-id": "audit-1"}
    )
    assert created.status_code == 201
    company = created.json()["id"]
    assert (await admin.patch(f"/v1/companies/{company}", json={"name": "C2"})).status_code == 200
    assert (await admin.patch("/v1/companies/nope", json={"name": "C2"})).status_code == 404
    assert (
        await admin.put("/v1/service-mappings/datto_rmm/servers", json={"service_codes": []})
    ).status_code == 422
    viewer = (await admin.post("/v1/api-keys", json={"name": "v", "role": "viewer"})).json()
    async with as_key(embedded_api, viewer["key"]) as v:
        assert (await v.post("/v1/companies", json={"name": "X"})).status_code == 403
        assert (await v.get("/v1/companies")).status_code == 200  # reads are not recorded
        assert (await v.get("/v1/audit")).status_code == 403
    async with as_key(embedded_api, None) as nobody:  # no key: nobody to record
        assert (await nobody.post("/v1/companies", json={"name": "X"})).status_code == 401
    assert (await admin.delete(f"/v1/api-keys/{viewer['id']}")).status_code == 204
    assert (await admin.post("/v1/nowhere", json={})).status_code == 404
    finished = datetime.now(UTC)

    trail = (await admin.get("/v1/audit")).json()["items"][::-1]  # newest first
    assert trail == (await admin.get("/v1/audit", params={"order": "oldest"})).json()["items"]
    assert [(a["key_id"], a["method"], a["path"], a["status"]) for a in trail] == [
        (admin_id, "POST", "/v1/companies", 201),
        (admin_id, "PATCH", f"/v1/companies/{company}", 200),
        (admin_id, "PATCH", "/v1/companies/nope", 404),
        (admin_id, "PUT", "/v1/service-mappings/datto_rmm/servers", 422),
        (admin_id, "POST", "/v1/api-keys", 201),
        (viewer["id"], "POST", "/v1/companies", 403),
        (admin_id, "DELETE", f"/v1/api-keys/{viewer['id']}", 204),
    ]
    assert trail[0]["request_id"] == "audit-1"
    assert all(len(a["request_id"]) > 0 for a in trail)
    for entry in trail:
        at = datetime.fromisoformat(entry["at"])
        assert at.tzinfo is not None and started <= at <= finished, entry


async def test_the_audit_filters_and_pages(embedded_api: EmbeddedApi) -> None:
    admin = embedded_api.client
    for i in range(5):
        assert (await admin.post("/v1/companies", json={"name": f"C{i}"})).status_code == 201
    everything = (await admin.get("/v1/audit")).json()["items"]
    assert len(everything) == 5
    page = (await admin.get("/v1/audit", params={"limit": 2})).json()
    seen = list(page["items"])
    while page["next_cursor"]:
        page = (
            await admin.get("/v1/audit", params={"limit": 2, "cursor": page["next_cursor"]})
        ).json()
        seen.extend(page["items"])
    assert seen == everything
    third = everything[2]["at"]
    # Newest first: the third from the top and those above it are the later ones.
    later = (await admin.get("/v1/audit", params={"from": third})).json()["items"]
    assert later == everything[:3]
    earlier = (await admin.get("/v1/audit", params={"to": third})).json()["items"]
    assert earlier == everything[2:]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await admin.get("/v1/audit", params={"from": future})).json()["items"] == []
    assert (await admin.get("/v1/audit", params={"from": "yesterday"})).status_code == 422
    async with await embedded_api.new_tenant() as other:
        assert (await other.get("/v1/audit")).json()["items"] == []
