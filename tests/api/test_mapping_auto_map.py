"""Suggestions and auto-mapping through the public API: ranked companies for unmapped orgs,
other modules' mappings as evidence, auto-map on a generated tenant measured against the
generator's truth (orgs of nobody must stay unmapped or count against precision), and the
re-resolution of everything auto-mapped at once: a durable job of the service's background
loop (it survives a restart), done before the answer when it finishes within the request's
wait, else reported as still queued."""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from services.mapping.matching import service as matching_service
from services.mapping.models import UsageRow
from services.mapping.resolution import reresolution
from tests.api.test_mapping_support import DAYS, PERIOD, PERIOD_DAYS, MappingApi, ok
from tools.sample import generate
from tools.sample.load import LoadReport, load_setup, load_usage

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PRECISION, RECALL = 0.99, 0.90


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


def answer_at_once(m: MappingApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests no longer wait for the re-resolution they queued."""
    queue = m.api.system.mapping.resolution_queue
    monkeypatch.setattr(queue, "wait_seconds", 0)


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


# Three customers, each known to several modules under variants of its name; a fourth org
# belongs to nobody. A month of constant daily counts, per-unit prices.
CUSTOMERS = {
    "Contoso Ltd": [
        ("datto_rmm", "r-contoso", "CONTOSO LIMITED", "servers", 4),
        ("datto_edr", "e-contoso", "contoso-ltd", "endpoints", 30),
        ("datto_bcdr", "b-contoso", "Contoso Ltd.", "appliances", 1),
    ],
    "Fabrikam Inc": [
        ("datto_rmm", "r-fabrikam", "Fabrikam, Inc.", "servers", 9),
        ("datto_edr", "e-fabrikam", "FABRIKAM INC", "endpoints", 12),
    ],
    "Northwind Traders GmbH": [
        ("datto_rmm", "r-northwind", "Northwind Traders", "servers", 2),
    ],
}
PRICES = {"servers": ("SRV", "25.00"), "endpoints": ("EP", "3.50"), "appliances": ("APP", "80")}
NOBODY = ("datto_edr", "e-lab", "Test Lab", "endpoints", 5)


async def _customers(m: MappingApi) -> dict[str, str]:
    """The companies, contracts, service mappings and a month of usage, all unmapped."""
    await m.enable("datto_rmm", "datto_edr", "datto_bcdr")
    for module, metric in (
        ("datto_rmm", "servers"),
        ("datto_edr", "endpoints"),
        ("datto_bcdr", "appliances"),
    ):
        await m.service_mapping(module, metric, PRICES[metric][0])
    ids = {}
    for name, orgs in CUSTOMERS.items():
        ids[name] = await m.company(name)
        await m.contract(ids[name], *(PRICES[metric] for *_, metric, _ in orgs))
    for module, org_id, org_name, metric, quantity in [*(o for v in CUSTOMERS.values() for o in v)]:
        await m.usage(module, org_id, org_name, metric, quantity)
    await m.usage(*NOBODY)
    await m.api.settle()
    return ids


async def _usage_versions(m: MappingApi) -> int:
    async with m.api.system.runtimes["mapping"].sessions() as session:
        return int(await session.scalar(select(func.sum(UsageRow.version))) or 0)


async def _waiting(m: MappingApi) -> int:
    async with m.api.system.runtimes["mapping"].sessions() as session:
        return await reresolution.waiting(session, m.api.tenant_id)


async def _drained(m: MappingApi, timeout: float = 30) -> None:
    """Until the queued re-resolutions are done and the pipeline settled."""
    deadline = time.monotonic() + timeout
    while await _waiting(m):
        assert time.monotonic() < deadline, "queued re-resolutions were not worked off"
        await asyncio.sleep(0.02)
    await m.api.settle()


async def _company_usage(m: MappingApi, company_id: str) -> dict[tuple[str, str], set[Decimal]]:
    """The unit table of the company: daily quantities per (module, metric) over the period."""
    params = {
        "company_id": company_id,
        "from": DAYS[0].isoformat(),
        "to": DAYS[-1].isoformat(),
        "limit": 1000,
    }
    page = ok(await m.api.client.get("/v1/usage", params=params))
    assert page["next_cursor"] is None
    rows = page["items"]
    found: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        found.setdefault((row["module"], row["metric"]), []).append(row)
    for (module, metric), days in found.items():
        assert sorted(r["date"] for r in days) == [d.isoformat() for d in DAYS], (module, metric)
    return {k: {Decimal(r["quantity"]) for r in v} for k, v in found.items()}


def _expected_lines(name: str) -> dict[str, tuple[Decimal, Decimal]]:
    lines = {}
    for *_, metric, quantity in CUSTOMERS[name]:
        code, price = PRICES[metric]
        amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
        lines[code] = (Decimal(quantity), amount)
    return lines


@pytest.mark.parametrize("queued", [False, True], ids=["within the wait", "queued"])
async def test_auto_map_of_many_orgs_reresolves_all_their_usage_and_the_drafts_follow(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch, queued: bool
) -> None:
    if queued:
        answer_at_once(m, monkeypatch)
    ids = await _customers(m)
    versions = await _usage_versions(m)
    for company in ids.values():
        assert await m.draft_lines(company) == {}

    dry = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={"dry_run": True}))
    assert (await _usage_versions(m), await _waiting(m)) == (versions, 0)
    assert len(await m.module_orgs(status="unmapped")) == 7

    done = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    assert done["queued"] is queued
    assert [{**x, "reresolved": 0} for x in done["mappings"]] == dry["mappings"]
    expected = {
        (module, org_id): (ids[name], PERIOD_DAYS)
        for name, orgs in CUSTOMERS.items()
        for module, org_id, *_ in orgs
    }
    assert {
        (x["module"], x["org_id"]): (x["company_id"], x["reresolved"]) for x in done["mappings"]
    } == expected
    await _drained(m)
    # Every record of every mapped org got a new resolution, the other org's none.
    assert await _usage_versions(m) == versions + len(expected) * PERIOD_DAYS
    assert [o["org_id"] for o in await m.module_orgs(status="unmapped")] == ["e-lab"]
    for name, orgs in CUSTOMERS.items():
        assert await _company_usage(m, ids[name]) == {
            (module, metric): {Decimal(quantity)} for module, _, _, metric, quantity in orgs
        }
        assert await m.draft_lines(ids[name]) == _expected_lines(name)
    audit = ok(
        await m.api.client.get("/v1/mapping-audit", params={"action": "org_mapping.auto_map"})
    )
    assert sorted((a["module"], a["org_id"]) for a in audit["items"]) == sorted(expected)
    assert all(
        a["before"] is None
        and a["after"] == {"company_id": expected[(a["module"], a["org_id"])][0], "excluded": False}
        for a in audit["items"]
    )


async def _queueing_customers(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], int]:
    """``_customers`` on a service whose requests do not wait for their re-resolution; the
    usage versions."""
    answer_at_once(m, monkeypatch)
    ids = await _customers(m)
    return ids, await _usage_versions(m)


async def test_queued_reresolution_survives_a_restart(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, versions = await _queueing_customers(m, monkeypatch)
    mapping = m.api.system.runtimes["mapping"]
    await mapping.stop()  # the service dies right after the request committed

    done = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    assert done["queued"] is True and len(done["mappings"]) == 6
    assert await _waiting(m) == 6
    assert await _usage_versions(m) == versions
    assert await _company_usage(m, ids["Contoso Ltd"]) == {}

    await mapping.start()  # the restarted service works off what was queued
    await _drained(m)
    assert await _usage_versions(m) == versions + 6 * PERIOD_DAYS
    for name in CUSTOMERS:
        assert await m.draft_lines(ids[name]) == _expected_lines(name)


async def test_the_pipeline_is_not_idle_while_a_reresolution_is_queued(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _queueing_customers(m, monkeypatch)
    queue = m.api.system.mapping.resolution_queue
    work_off = queue.drain_once

    async def paused() -> int:
        return 0

    monkeypatch.setattr(queue, "drain_once", paused)
    ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    deadline = time.monotonic() + 30
    while not await m.api.system.outboxes_empty():  # the request's own events are relayed
        assert time.monotonic() < deadline, "the outboxes were not relayed"
        await asyncio.sleep(0.05)
    assert await _waiting(m) == 6
    assert not await m.api.system.idle()

    monkeypatch.setattr(queue, "drain_once", work_off)
    await _drained(m)
    assert await m.api.system.idle()


async def test_a_failed_batch_of_queued_orgs_is_retried_whole(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, versions = await _queueing_customers(m, monkeypatch)
    real, failures = reresolution.reresolve_orgs, []

    async def flaky(*args: Any) -> dict[tuple[str, str], int]:
        counts = await real(*args)  # did its writes, then fails before the commit
        if not failures:
            failures.append(1)
            raise RuntimeError("database went away")
        return counts

    monkeypatch.setattr(reresolution, "reresolve_orgs", flaky)
    ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))
    await _drained(m)
    assert failures == [1]
    # The failed attempt left nothing behind: one new version per record, not two.
    assert await _usage_versions(m) == versions + 6 * PERIOD_DAYS
    assert await m.draft_lines(ids["Fabrikam Inc"]) == _expected_lines("Fabrikam Inc")


async def test_a_posted_invoice_keeps_its_amounts_and_the_queued_auto_map_is_a_correction(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Usage of a posted period is never changed in place, also when its re-resolution was
    queued: the posted invoice stays as it is and the next run makes an adjustment."""
    ids, _ = await _queueing_customers(m, monkeypatch)
    contoso = ids["Contoso Ltd"]
    await m.map_org("datto_rmm", "r-contoso", contoso)
    assert await m.draft_lines(contoso) == {"SRV": _expected_lines("Contoso Ltd")["SRV"]}
    client = m.api.client
    [draft] = ok(
        await client.get("/v1/invoices", params={"period": PERIOD, "company_id": contoso})
    )["items"]
    ok(await client.put("/v1/seller-profile", json={"name": "Test MSP", "payment_terms_days": 14}))
    posted = ok(await client.post(f"/v1/invoices/{draft['id']}/post"))

    done = ok(await client.post("/v1/module-orgs/auto-map", json={}))
    assert done["queued"] is True
    assert ("datto_edr", "e-contoso") in {(x["module"], x["org_id"]) for x in done["mappings"]}
    await _drained(m)
    ok(await client.post("/v1/billing-runs", json={"period": PERIOD}), 201)

    assert ok(await client.get(f"/v1/invoices/{posted['id']}")) == posted
    found = ok(
        await client.get(
            "/v1/invoices", params={"period": PERIOD, "company_id": contoso, "kind": "adjustment"}
        )
    )["items"]
    assert [(a["kind"], a["status"]) for a in found] == [("adjustment", "draft")]
    adjustment = ok(await client.get(f"/v1/invoices/{found[0]['id']}"))
    assert adjustment["corrects"] == posted["id"]
    expected = _expected_lines("Contoso Ltd")
    assert {
        line["service_code"]: (Decimal(line["quantity"]), Decimal(line["amount"]))
        for line in adjustment["lines"]
    } == {code: expected[code] for code in ("EP", "APP")}


async def test_auto_map_plans_off_the_event_loop(
    m: MappingApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await m.company("Contoso Ltd")
    await m.usage("datto_edr", "e1", "contoso-ltd", "endpoints", 1)
    await m.api.settle()
    real, threads = matching_service.plan_auto_map, []

    def planned(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(matching_service, "plan_auto_map", planned)
    done = ok(await m.api.client.post("/v1/module-orgs/auto-map", json={}))

    assert [x["org_id"] for x in done["mappings"]] == ["e1"]
    assert threads and threads[0] is not threading.main_thread()
