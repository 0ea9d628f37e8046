"""Suggestions and auto-mapping through the public API: ranked companies for unmapped orgs,
other modules' mappings as evidence, and auto-map on a generated tenant measured against the
generator's truth (orgs of nobody must stay unmapped or count against precision)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shared.sample import generate
from shared.sample.load import LoadReport, load_setup, load_usage
from tests.api.test_mapping_support import PERIOD, PERIOD_DAYS, MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PRECISION, RECALL = 0.99, 0.90


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def test_unmapped_orgs_carry_ranked_suggestions(m: MappingApi) -> None:
    contoso = await m.company("Contoso Ltd")
    pharma = await m.company("Contoso Pharma GmbH")
    await m.company("Fabrikam Inc")
    await m.usage("datto_rmm", "r1", "CONTOSO PHARMA G.M.B.H.", "servers", 1)
    await m.usage("datto_edr", "e1", "contoso-ltd", "endpoints", 1)
    await m.usage("datto_edr", "e2", "Test Org", "endpoints", 1)
    await m.api.settle()

    orgs = {o["org_id"]: o for o in await m.module_orgs(status="unmapped")}
    assert [s["company_id"] for s in orgs["r1"]["suggestions"]][:2] == [pharma, contoso]
    assert orgs["r1"]["suggestions"][0] == {
        "company_id": pharma,
        "name": "Contoso Pharma GmbH",
        "score": 1.0,
        "evidence": None,
    }
    assert orgs["e1"]["suggestions"][0]["company_id"] == contoso
    assert all(0 <= s["score"] <= 1 for o in orgs.values() for s in o["suggestions"])
    assert orgs["e2"]["suggestions"] == []

    await m.map_org("datto_edr", "e1", contoso)
    [mapped] = await m.module_orgs(status="mapped")
    assert mapped["suggestions"] == []


async def test_an_org_mapped_in_another_module_suggests_its_company(m: MappingApi) -> None:
    acme = await m.company("Acme Holdings plc")
    await m.company("Datacenter Services Ltd")
    await m.usage("datto_rmm", "r1", "ACME-EU Datacenter", "servers", 1)
    await m.usage("datto_bcdr", "b1", "acme-eu datacenter (Backup)", "appliances", 1)
    await m.api.settle()
    before = {o["org_id"]: o for o in await m.module_orgs()}
    assert all(s["company_id"] != acme or s["score"] < 0.9 for s in before["b1"]["suggestions"])

    await m.map_org("datto_rmm", "r1", acme)

    [b1] = await m.module_orgs(status="unmapped")
    assert b1["suggestions"][0] == {
        "company_id": acme,
        "name": "Acme Holdings plc",
        "score": 1.0,
        "evidence": "ACME-EU Datacenter",
    }
    answer = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    assert [(x["org_id"], x["company_id"], x["reresolved"]) for x in answer["mappings"]] == [
        ("b1", acme, PERIOD_DAYS)
    ]


def _truth(msp: Any, loaded: LoadReport) -> dict[tuple[str, str], str | None]:
    return {
        (o.module, o.org_id): loaded.company_ids[o.company_key] if o.company_key else None
        for o in msp.orgs
    }


async def _org_audit(m: MappingApi) -> list[dict[str, Any]]:
    """The audit of org mappings (the setup made service mappings)."""
    entries = ok(await m.api.client.get("/v1/mapping-audit", params={"limit": 1000}))["items"]
    return [e for e in entries if e["action"].startswith("org_mapping.")]


async def test_auto_map_on_a_generated_tenant(m: MappingApi) -> None:
    msp = generate(seed=11, companies=40, period=PERIOD)
    loaded = LoadReport()
    await load_setup(m.api.client, msp, loaded)
    await load_usage(m.api.client, msp, loaded)
    await m.api.settle()
    truth = _truth(msp, loaded)
    unmapped = await _all_unmapped(m)
    assert {(o["module"], o["org_id"]) for o in unmapped} == set(truth)

    dry = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={"dry_run": True}))
    assert (dry["dry_run"], dry["min_score"], dry["considered"]) == (True, 0.9, len(truth))
    proposed = [(x["module"], x["org_id"], x["company_id"]) for x in dry["mappings"]]
    correct = sum(1 for module, org_id, company in proposed if truth[(module, org_id)] == company)
    labelled = sum(1 for company in truth.values() if company is not None)
    assert correct / len(proposed) >= PRECISION
    assert correct / labelled >= RECALL
    assert all(x["score"] >= 0.9 and x["reresolved"] == 0 for x in dry["mappings"])
    # A dry run changes nothing.
    await m.api.settle()
    assert len(await _all_unmapped(m)) == len(truth)
    assert await _org_audit(m) == []

    done = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={"dry_run": False}))
    assert [(x["module"], x["org_id"], x["company_id"]) for x in done["mappings"]] == proposed
    assert all(x["reresolved"] > 0 for x in done["mappings"])
    left = {(o["module"], o["org_id"]) for o in await _all_unmapped(m)}
    assert left == set(truth) - {(module, org_id) for module, org_id, _ in proposed}
    audit = await _org_audit(m)
    assert len(audit) == len(proposed)
    assert {a["action"] for a in audit} == {"org_mapping.auto_map"}
    assert all(a["before"] is None and a["after"]["excluded"] is False for a in audit)

    again = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    assert again["mappings"] == [] and again["considered"] == len(left)


async def _all_unmapped(m: MappingApi) -> list[dict[str, Any]]:
    page = ok(
        await m.api.client.get("/v1/module-orgs", params={"status": "unmapped", "limit": 1000})
    )
    assert page["next_cursor"] is None
    return list(page["items"])


async def test_auto_map_rejects_a_bad_body(m: MappingApi) -> None:
    for body, loc in (
        ({"min_score": 1.5}, "min_score"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"module": "nope"}, "module"),
        ({"surprise": 1}, "surprise"),
    ):
        response = await m.api.client.post("/v1/module-orgs/auto-map", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert any(loc in e["loc"] for e in response.json()["errors"]), response.json()
