"""The document check fails for an endpoint added without its documentation, and the merge
gives a documented endpoint under a known resource its tag, problems and example."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel, ConfigDict

from services.gateway.openapi import merge
from services.gateway.openapi_check import gaps
from services.gateway.openapi_tags import tag_of
from shared.openapi_docs import ApiModel, examples


class BareIn(BaseModel):
    amount: str


class AmendmentIn(ApiModel):
    model_config = ConfigDict(json_schema_extra=examples({"effective_from": "2026-04-01"}))
    effective_from: str
    """The first day the amendment applies to."""


class AmendmentOut(ApiModel):
    id: str
    """The amendment's id."""


def service_document(app: FastAPI) -> dict[str, Any]:
    doc = app.openapi()
    return {"ingest": {"paths": {}}, "gateway": {"paths": {}}, "invoicing": doc}


def merged(app: FastAPI) -> dict[str, Any]:
    return merge(service_document(app), "T", "1")


def test_an_undocumented_endpoint_of_a_new_resource_is_reported_on_every_count() -> None:
    app = FastAPI()

    @app.post("/v1/invoices/{invoice_id}/payments")  # routed; stands for a new endpoint
    async def record_payment(invoice_id: str, body: BareIn) -> Response:
        return Response(status_code=204)

    found = gaps(merged(app))
    where = "POST /v1/invoices/{invoice_id}/payments"
    assert any(g.startswith(f"{where}: no summary") for g in found), found
    assert any(g.startswith(f"{where}: no description") for g in found), found
    assert any(
        g.startswith(f"{where}: request body application/json has no example") for g in found
    )
    assert any(g.startswith("schema BareIn: property 'amount' has no description") for g in found)


def test_a_path_no_tag_covers_is_reported() -> None:
    doc = merged(FastAPI())
    doc["paths"]["/v1/brand-new"] = {
        "get": {
            "summary": "A new resource",
            "description": "Documented but not grouped.",
            "tags": [],
            "responses": {"200": {"description": "OK"}},
        }
    }
    found = gaps(doc)
    assert any(g.startswith("GET /v1/brand-new: no tag") for g in found), found
    assert tag_of("/v1/brand-new") is None


def test_a_documented_endpoint_under_a_known_resource_needs_nothing_more() -> None:
    app = FastAPI()

    @app.patch(
        "/v1/contracts/{contract_id}", response_model=AmendmentOut, summary="Amend a contract"
    )
    async def amend(contract_id: str, body: AmendmentIn) -> AmendmentOut:
        """Changes the contract from a day on."""
        return AmendmentOut(id="a")

    doc = merged(app)
    op = doc["paths"]["/v1/contracts/{contract_id}"]["patch"]
    assert op["tags"] == ["Contracts"]
    assert op["description"] == "Changes the contract from a day on.\n\nRoles: admin, billing."
    assert op["requestBody"]["content"]["application/json"]["example"] == {
        "effective_from": "2026-04-01"
    }
    assert {"400", "401", "403", "404", "409", "422", "429", "503"} <= set(op["responses"])
    assert [t["name"] for t in doc["tags"]] == ["Contracts", "Health"]
    assert gaps(doc) == []


def test_fastapis_derived_summary_does_not_count_as_one() -> None:
    app = FastAPI()

    @app.get("/v1/contracts/{contract_id}", response_model=AmendmentOut)
    async def get_contract(contract_id: str) -> AmendmentOut:
        """Reads a contract."""
        return AmendmentOut(id="a")

    op = merged(app)["paths"]["/v1/contracts/{contract_id}"]["get"]
    assert op["summary"] == "Get Contract"
    assert any("no summary" in g for g in gaps(merged(app)))
