"""Contracts through the API: several per company, mid-month dates, currencies, every pricing
model, minimum units and counting basis stored as sent; invalid contracts answer a precise
problem (RFC 9457, ``errors[].loc`` pointing at the field) and store nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.api.test_invoicing_support import InvoicingApi, ok, service

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

TIERS = (("10", "3.00"), ("20", "2.00"), (None, "1.00"))


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


def _body(company: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "company_id": company,
        "name": "Managed services",
        "start_date": "2026-03-15",
        "currency": "EUR",
        "services": [service("SVC", "2.50")],
    }
    body.update(changes)
    return body


async def test_contracts_are_stored_as_sent(billing: InvoicingApi) -> None:
    company = await billing.company()
    tiered = service(
        "TIERED", None, model="graduated", tiers=TIERS, basis="monthly_peak", minimum="2"
    )
    first = ok(
        await billing.client.post(
            "/v1/contracts",
            json=_body(company, end_date="2026-09-14", services=[service("SVC", "2.505"), tiered]),
        ),
        201,
    )
    second = ok(
        await billing.client.post(
            "/v1/contracts",
            json=_body(
                company,
                currency="usd",
                start_date="2026-04-01",
                services=[service("VOL", None, model="volume", tiers=TIERS, basis="monthly_last")],
            ),
        ),
        201,
    )

    assert (first["start_date"], first["end_date"], first["currency"]) == (
        "2026-03-15",
        "2026-09-14",
        "EUR",
    )
    assert second["currency"] == "USD"
    svc, graduated = first["services"]
    assert (svc["unit_price"], svc["counting_basis"], svc["pricing"]) == (
        "2.505",
        "daily",
        {"model": "per_unit", "tiers": []},
    )
    assert (graduated["counting_basis"], graduated["minimum_units"]) == ("monthly_peak", "2.0000")
    assert [(t["up_to"], t["unit_price"]) for t in graduated["pricing"]["tiers"]] == [
        ("10.0000", "3.00"),
        ("20.0000", "2.00"),
        (None, "1.00"),
    ]
    # One version so far, from the start date: the services in force.
    assert first["versions"] == [{"effective_from": "2026-03-15", "services": first["services"]}]
    listed = ok(await billing.client.get("/v1/contracts", params={"company_id": company}))
    assert sorted(c["id"] for c in listed["items"]) == sorted([first["id"], second["id"]])
    assert ok(await billing.client.get(f"/v1/contracts/{first['id']}")) == first


@pytest.mark.parametrize(
    ("changes", "loc", "msg"),
    [
        (
            {
                "services": [
                    service(
                        "T", None, model="graduated", tiers=(("20", "3"), ("10", "2"), (None, "1"))
                    )
                ]
            },
            ["body", "services", 0, "pricing", "tiers", 1, "up_to"],
            "greater than the previous",
        ),
        (
            {"services": [service("T", None, model="volume", tiers=(("10", "3"), ("20", "2")))]},
            ["body", "services", 0, "pricing", "tiers", 1, "up_to"],
            "must be unbounded",
        ),
        (
            {"services": [service("T", None, model="graduated", tiers=((None, "3"), (None, "2")))]},
            ["body", "services", 0, "pricing", "tiers", 0, "up_to"],
            "only the last tier",
        ),
        (
            {"services": [service("T", None, model="graduated")]},
            ["body", "services", 0, "pricing", "tiers"],
            "at least one tier",
        ),
        (
            {"services": [service("T", "-1.00")]},
            ["body", "services", 0, "unit_price"],
            "must not be negative",
        ),
        (
            {"services": [service("T", None, model="volume", tiers=(("5", "-2"), (None, "1")))]},
            ["body", "services", 0, "pricing", "tiers", 0, "unit_price"],
            "must not be negative",
        ),
        (
            {"services": [service("T", None)]},
            ["body", "services", 0, "unit_price"],
            "required for per_unit",
        ),
        (
            {"services": [service("T", "1", tiers=TIERS)]},
            ["body", "services", 0, "pricing", "tiers"],
            "must be empty",
        ),
        (
            {"services": [service("T", "1"), service("T", "2")]},
            ["body", "services", 1, "service_code"],
            "appears twice",
        ),
        (
            {"services": [service("T", "1", minimum="-1")]},
            ["body", "services", 0, "minimum_units"],
            "greater than or equal to 0",
        ),
        (
            {"services": [service("T", "1", basis="weekly")]},
            ["body", "services", 0, "counting_basis"],
            "daily",
        ),
        ({"services": []}, ["body", "services"], "at least 1"),
        ({"currency": "XYZ"}, ["body", "currency"], "not an ISO 4217 currency"),
        ({"currency": "EU1"}, ["body", "currency"], "pattern"),
        ({"end_date": "2026-03-14"}, ["body", "end_date"], "must not be before start_date"),
        ({"start_date": "2026-02-30"}, ["body", "start_date"], "date"),
        ({"company_id": "no-such-company"}, ["body", "company_id"], "no company"),
    ],
)
async def test_an_invalid_contract_answers_a_precise_problem(
    billing: InvoicingApi,
    changes: dict[str, Any],
    loc: list[Any],
    msg: str,
) -> None:
    company = await billing.company()

    problem = ok(await billing.client.post("/v1/contracts", json=_body(company, **changes)), 422)

    assert problem["type"].endswith("/validation-error")
    assert problem["status"] == 422 and problem["detail"]
    assert any(e["loc"] == loc and msg in e["msg"] for e in problem["errors"]), problem
    listed = ok(await billing.client.get("/v1/contracts"))
    assert listed["items"] == []


async def test_patching_a_contract_is_validated_too(billing: InvoicingApi) -> None:
    company = await billing.company()
    contract = ok(await billing.client.post("/v1/contracts", json=_body(company)), 201)

    problem = ok(
        await billing.client.patch(
            f"/v1/contracts/{contract['id']}", json={"end_date": "2026-01-01"}
        ),
        422,
    )
    assert problem["errors"][0]["loc"] == ["body", "end_date"]
    # Service terms change only through amendments (PRODUCT.md section 10), valid or not.
    for services in ([service("T", "-3")], [service("SVC", "3.00")], None, "all"):
        problem = ok(
            await billing.client.patch(
                f"/v1/contracts/{contract['id']}", json={"name": "Renamed", "services": services}
            ),
            422,
        )
        assert problem["errors"][0]["loc"] == ["body", "services"]
        assert "/amendments" in problem["errors"][0]["msg"] and "/amendments" in problem["detail"]
    assert ok(await billing.client.get(f"/v1/contracts/{contract['id']}")) == contract

    patched = ok(
        await billing.client.patch(
            f"/v1/contracts/{contract['id']}", json={"end_date": "2026-12-31"}
        )
    )
    assert patched["end_date"] == "2026-12-31"
    assert (
        ok(await billing.client.patch(f"/v1/contracts/{contract['id']}", json={"end_date": None}))[
            "end_date"
        ]
        is None
    )


async def test_another_tenants_company_and_contract_are_not_ours(billing: InvoicingApi) -> None:
    company = await billing.company()
    contract = ok(await billing.client.post("/v1/contracts", json=_body(company)), 201)
    async with await billing.api.new_tenant() as other:
        problem = ok(await other.post("/v1/contracts", json=_body(company)), 422)
        assert problem["errors"][0]["loc"] == ["body", "company_id"]
        assert (await other.get(f"/v1/contracts/{contract['id']}")).status_code == 404
        assert (
            await other.patch(f"/v1/contracts/{contract['id']}", json={"name": "x"})
        ).status_code == 404
