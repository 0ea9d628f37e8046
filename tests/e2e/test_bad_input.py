"""Bad input to every endpoint built so far: an RFC 9457 problem, and nothing stored.

One tenant serves the module; every check reads the affected resources back before and after
the bad request and expects them unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support.polling import wait_for
from tests.support.scenario import get_all, ok, tally
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

Loc = list[str | int]
TODAY = date.today()


def assert_problem(
    response: httpx.Response, status: int, *locs: Loc, any_locs: bool = False
) -> dict[str, Any]:
    """The answer is a problem of ``status``; a validation problem lists exactly ``locs``
    (or, with ``any_locs``, at least one)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for field in ("type", "title", "detail"):
        assert isinstance(body[field], str) and body[field], f"{field} missing in {body}"
    if status == 422:
        errors = body["errors"]
        assert errors and all(
            isinstance(e["loc"], list) and isinstance(e["msg"], str) and e["msg"] for e in errors
        ), body
        assert any_locs or [e["loc"] for e in errors] == list(locs), body
    return body


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    tenant = await stack.new_tenant()
    async with stack.client(tenant.key) as client:
        yield client


@pytest.fixture(scope="module")
async def company(api: httpx.AsyncClient) -> dict[str, Any]:
    created: dict[str, Any] = ok(await api.post("/v1/companies", json={"name": "Acme"}), 201)
    return created


def rec(**changes: Any) -> dict[str, Any]:
    record = {
        "module": "datto_rmm",
        "org_id": "o1",
        "org_name": "Org One",
        "metric": "servers",
        "date": (TODAY - timedelta(days=3)).isoformat(),
        "quantity": 1,
    }
    return {**record, **changes}


async def modules(api: httpx.AsyncClient) -> dict[str, tuple[int, str | None]]:
    """Per module: how many orgs sent usage, and the last day of usage."""
    return {
        m["module"]: (m["org_count"], m["last_usage_date"])
        for m in await get_all(api, "/v1/modules")
    }


@pytest.mark.parametrize(
    ("body", "status", "locs"),
    [
        (b'{"records": [', 422, [["body"]]),
        (b"[]", 422, [["body", "records"]]),
        (b'"records"', 422, [["body", "records"]]),
        (b'{"records": {"module": "datto_rmm"}}', 422, [["body", "records"]]),
        (None, 413, []),
    ],
    ids=["malformed", "array", "string", "records-not-a-list", "10001-records"],
)
async def test_usage_bad_body(
    api: httpx.AsyncClient, body: bytes | None, status: int, locs: list[Loc]
) -> None:
    before = await modules(api)
    if body is None:
        response = await api.post("/v1/usage", json={"records": [rec()] * 10_001})
    else:
        response = await api.post(
            "/v1/usage", content=body, headers={"content-type": "application/json"}
        )
    assert_problem(response, status, *locs)
    assert await modules(api) == before


async def test_usage_record_errors_reject_only_those_records(api: httpx.AsyncClient) -> None:
    bad = [
        (rec(module="no_such_module"), "module"),
        (rec(metric="no_such_metric"), "metric"),
        (rec(quantity="1.5"), "quantity"),
        (rec(quantity=-1), "quantity"),
        (rec(quantity="twelve"), "quantity"),
        (rec(module="datto_azure_backup", metric="storage_tb", quantity="1.23456"), "quantity"),
        (rec(date=(TODAY + timedelta(days=2)).isoformat()), "date"),
        (rec(date=(TODAY - timedelta(days=800)).isoformat()), "date"),
        (rec(org_id=""), "org_id"),
        (rec(module="graphus", metric="mailboxes", quantity=5), "quantity"),
        (rec(module="graphus", metric="mailboxes", quantity=6), "quantity"),
    ]
    good = rec(module="bullphish_id", metric="users", quantity=12)
    before = await modules(api)
    answer = ok(await api.post("/v1/usage", json={"records": [r for r, _ in bad] + [good]}))
    assert tally(answer) == (1, 0, 0, len(bad))
    assert [(r["index"], [e["loc"] for e in r["errors"]]) for r in answer["rejected"]] == [
        (i, [["records", i, field]]) for i, (_, field) in enumerate(bad)
    ]
    assert all(e["msg"] for r in answer["rejected"] for e in r["errors"])
    assert await modules(api) == {**before, "bullphish_id": (1, good["date"])}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"tax_rate": "0.19"}, ["body", "name"]),
        ({"name": "  "}, ["body", "name"]),
        ({"name": "A", "tax_rate": "1.5"}, ["body", "tax_rate"]),
        ({"name": "A", "tax_rate": "-0.1"}, ["body", "tax_rate"]),
        ({"name": "A", "tax_rate": "abc"}, ["body", "tax_rate"]),
        ({"name": "A", "currency": "XXX"}, ["body", "currency"]),
    ],
    ids=[
        "no-name",
        "blank-name",
        "tax-above-1",
        "tax-negative",
        "tax-not-a-number",
        "unknown-currency",
    ],
)
async def test_company_errors(api: httpx.AsyncClient, body: dict[str, Any], loc: Loc) -> None:
    before = await get_all(api, "/v1/companies")
    assert_problem(await api.post("/v1/companies", json=body), 422, loc)
    assert await get_all(api, "/v1/companies") == before


SERVICE = {"service_code": "S-1", "name": "Service", "unit_price": "1.50"}
TIERS = {
    "model": "graduated",
    "tiers": [
        {"up_to": "10", "unit_price": "2"},
        {"up_to": "5", "unit_price": "1"},
        {"up_to": None, "unit_price": "0.5"},
    ],
}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"start_date": "2026-05-01", "end_date": "2026-04-30"}, ["body", "end_date"]),
        ({"currency": "ABC"}, ["body", "currency"]),
        (
            {"services": [{"service_code": "S-1", "name": "Tiered", "pricing": TIERS}]},
            ["body", "services", 0, "pricing", "tiers", 1, "up_to"],
        ),
        ({"company_id": "00000000-0000-0000-0000-000000000000"}, ["body", "company_id"]),
    ],
    ids=["end-before-start", "unknown-currency", "tiers-not-ascending", "unknown-company"],
)
async def test_contract_errors(
    api: httpx.AsyncClient, company: dict[str, Any], change: dict[str, Any], loc: Loc
) -> None:
    body = {
        "company_id": company["id"],
        "name": "C",
        "start_date": "2026-01-01",
        "currency": "EUR",
        "services": [SERVICE],
        **change,
    }
    assert_problem(await api.post("/v1/contracts", json=body), 422, loc)
    assert await get_all(api, "/v1/contracts") == []


async def test_mapping_errors(api: httpx.AsyncClient, company: dict[str, Any]) -> None:
    ok(await api.post("/v1/usage", json={"records": [rec(org_id="map-o1")]}))

    async def org_status() -> str | None:
        orgs = await get_all(api, "/v1/module-orgs", module="datto_rmm")
        return next((o["status"] for o in orgs if o["org_id"] == "map-o1"), None)

    assert await wait_for(org_status, 60, "the module org") == "unmapped"
    codes = {"service_codes": ["S-1"]}
    assert_problem(await api.put("/v1/service-mappings/no_such_module/users", json=codes), 404)
    assert_problem(await api.put("/v1/service-mappings/datto_rmm/no_such_metric", json=codes), 404)
    assert_problem(
        await api.put("/v1/service-mappings/datto_rmm/servers", json={"service_codes": []}),
        422,
        ["body", "service_codes"],
    )
    assert_problem(
        await api.put(
            "/v1/companies/00000000-0000-0000-0000-000000000000/service-mappings/datto_rmm/servers",
            json=codes,
        ),
        404,
    )
    assert_problem(
        await api.put(
            "/v1/module-orgs/no_such_module/map-o1/mapping", json={"company_id": company["id"]}
        ),
        404,
    )
    assert_problem(
        await api.put(
            "/v1/module-orgs/datto_rmm/map-o1/mapping",
            json={"company_id": "00000000-0000-0000-0000-000000000000"},
        ),
        422,
        ["body", "company_id"],
    )
    assert ok(await api.get("/v1/service-mappings"))["items"] == []
    assert await org_status() == "unmapped"
    assert await get_all(api, f"/v1/companies/{company['id']}/module-orgs") == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"period": "2026-13"}, ["body", "period"]),
        ({"period": "26-10"}, ["body", "period"]),
        ({"period": "2026-1"}, ["body", "period"]),
        ({}, ["body", "period"]),
    ],
    ids=["month-13", "short-year", "one-digit-month", "missing"],
)
async def test_billing_run_bad_period(
    api: httpx.AsyncClient, body: dict[str, Any], loc: Loc
) -> None:
    assert_problem(await api.post("/v1/billing-runs", json=body), 422, loc)
    assert await get_all(api, "/v1/invoices") == []


async def test_unknown_ids_answer_404(stack: Stack, api: httpx.AsyncClient) -> None:
    other = await stack.new_tenant()
    async with stack.client(other.key) as other_api:
        theirs = ok(await other_api.post("/v1/companies", json={"name": "Theirs"}), 201)
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_problem(await api.get(f"/v1/invoices/{unknown}"), 404)
    assert_problem(await api.get(f"/v1/invoices/{unknown}/lines/{unknown}/explain"), 404)
    assert_problem(await api.get(f"/v1/contracts/{unknown}"), 404)
    assert_problem(await api.get(f"/v1/companies/{theirs['id']}"), 404)


async def stored(api: httpx.AsyncClient) -> list[Any]:
    """What the endpoints below could have stored."""
    return [
        await get_all(api, "/v1/companies"),
        await get_all(api, "/v1/contracts"),
        await get_all(api, "/v1/invoices"),
        await get_all(api, "/v1/service-mappings"),
        [
            (m["module"], m["billing_enabled"], m["effective_from"])
            for m in await get_all(api, "/v1/modules")
        ],
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/companies"),
        ("POST", "/v1/contracts"),
        ("POST", "/v1/billing-runs"),
        ("PUT", "/v1/service-mappings/datto_rmm/servers"),
        ("PUT", "/v1/modules/datto_rmm/billing"),
    ],
)
async def test_malformed_json_everywhere(api: httpx.AsyncClient, method: str, path: str) -> None:
    before = await stored(api)
    response = await api.request(
        method, path, content=b'{"name": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, any_locs=True)
    assert [e["loc"][0] for e in body["errors"]] == ["body"]
    assert await stored(api) == before
