"""The audit keeps what each write changed: before and after of contracts, mappings,
settings, keys and invoice state, filterable by key, resource and time, newest first; the
services' changes header never reaches the client."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from shared.changes import H_CHANGES, REDACTED
from tests.api.test_gateway_keys import client
from tests.conftest import EmbeddedApi
from tests.support.scenario import build_scenario, get_all, ok


async def trail(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return await get_all(api, "/v1/audit", **params)


def only(entries: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action]
    assert len(found) == 1, (action, [e["action"] for e in entries])
    return found[0]


async def test_changes_of_contracts_mappings_settings_and_keys_have_before_and_after(
    embedded_api: EmbeddedApi,
) -> None:
    admin = embedded_api.client
    company = ok(await admin.post("/v1/companies", json={"name": "Contoso"}), 201)["id"]
    contract = {
        "company_id": company,
        "name": "Managed services",
        "start_date": "2026-01-01",
        "currency": "EUR",
        "services": [{"service_code": "SRV", "name": "Servers", "unit_price": "10.00"}],
    }
    made = await admin.post("/v1/contracts", json=contract)
    assert made.status_code == 201 and H_CHANGES not in made.headers
    contract_id = made.json()["id"]
    patched = await admin.patch(f"/v1/contracts/{contract_id}", json={"name": "Renamed"})
    assert patched.status_code == 200 and H_CHANGES not in patched.headers
    ok(await admin.put("/v1/service-mappings/datto_rmm/servers", json={"service_codes": ["SRV"]}))
    ok(
        await admin.put(
            "/v1/modules/datto_rmm/billing",
            json={"enabled": True, "effective_from": "2026-01-01"},
        )
    )
    ok(await admin.put("/v1/seller-profile", json={"name": "Acme IT", "address": "1 Main St"}))
    viewer = ok(await admin.post("/v1/api-keys", json={"name": "v", "role": "viewer"}), 201)
    assert (await admin.delete(f"/v1/api-keys/{viewer['id']}")).status_code == 204
    assert (await admin.delete(f"/v1/api-keys/{viewer['id']}")).status_code == 204  # no change

    entries = await trail(admin)
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)

    created = only(entries, "contract.create")
    assert (created["resource"], created["resource_id"]) == ("contracts", contract_id)
    assert created["before"] is None and created["after"]["name"] == "Managed services"
    assert created["after"]["services"][0]["unit_price"] == "10.00"
    updated = only(entries, "contract.update")
    assert updated["before"]["name"] == "Managed services"
    assert updated["after"]["name"] == "Renamed"
    assert updated["status"] == 200 and updated["path"] == f"/v1/contracts/{contract_id}"

    mapping = only(entries, "service_mapping.put")
    assert mapping["resource"] == "service-mappings"
    assert mapping["resource_id"] == "datto_rmm/servers"
    assert mapping["before"] is None and "SRV" in str(mapping["after"])

    billing = only(entries, "module_billing.update")
    assert (billing["resource"], billing["resource_id"]) == ("modules", "datto_rmm")
    assert billing["before"]["billing_enabled"] is False
    assert billing["after"]["billing_enabled"] is True

    seller = only(entries, "seller_profile.update")
    assert seller["after"]["name"] == "Acme IT" and seller["before"]["name"] != "Acme IT"

    issued = only(entries, "api_key.create")
    assert issued["before"] is None and issued["after"]["role"] == "viewer"
    assert viewer["key"] not in str(entries)  # the secret is never in the audit
    revoked = only(entries, "api_key.revoke")
    assert revoked["before"]["revoked_at"] is None and revoked["after"]["revoked_at"]

    # The filters: resource, id, key, action and time.
    contracts = await trail(admin, resource="contracts")
    assert {e["action"] for e in contracts} == {"contract.create", "contract.update"}
    assert len(await trail(admin, resource="contracts", resource_id=contract_id)) == 2
    own = embedded_api.key.split("_")[1]
    assert len(await trail(admin, key_id=own)) == len(entries)
    assert await trail(admin, key_id="0000000000000000") == []
    later = datetime.now(UTC).isoformat()
    assert await trail(admin, **{"from": later}) == []
    assert len(await trail(admin, to=later)) == len(entries)
    oldest = await trail(admin, order="oldest")
    assert oldest == entries[::-1]
    assert (await admin.get("/v1/audit", params={"order": "sideways"})).status_code == 422


async def test_a_change_of_invoice_state_is_audited(embedded_api: EmbeddedApi) -> None:
    admin = embedded_api.client
    built = await build_scenario(admin, embedded_api.system.idle)
    invoice = built.invoices[0]
    ok(await admin.put("/v1/seller-profile", json={"name": "Test MSP", "payment_terms_days": 14}))
    posted = ok(await admin.post(f"/v1/invoices/{invoice['id']}/post"))
    payment = {"amount": "1.00", "received_on": posted["issued_on"], "reference": "wire-1"}
    ok(await admin.post(f"/v1/invoices/{invoice['id']}/payments", json=payment), 201)
    entries = await trail(admin, resource="invoices", resource_id=invoice["id"])
    assert [e["action"] for e in entries] == ["invoice.payment", "invoice.post"]
    post, pay = entries[1], entries[0]
    assert (post["before"]["status"], post["after"]["status"]) == ("draft", "posted")
    assert post["before"]["number"] is None and post["after"]["number"] == posted["number"]
    assert pay["before"]["balance"] == posted["balance"]
    assert pay["after"]["balance"] == str(Decimal(posted["balance"]) - 1)


async def test_module_credentials_are_redacted_in_the_audit(embedded_api: EmbeddedApi) -> None:
    from shared.changes import changed, collecting, decode, encode

    with collecting() as changes:
        changed("connections", "m", "connection.save", None, {"credentials": {"token": "s3"}})
        changed("webhooks", "w", "webhook.create", None, {"url": "u", "secret": "whsec_1"})
    text = str(decode(encode(changes)))
    assert "s3" not in text and "whsec_1" not in text and REDACTED in text
    async with client(embedded_api.system, embedded_api.key) as api:
        assert (await api.get("/v1/audit")).status_code == 200
