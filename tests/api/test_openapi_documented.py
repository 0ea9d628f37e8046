"""The public API document leaves nothing undocumented: every operation has its tag, summary,
description and problem answers, every request body an example, every property a
description (PRODUCT.md section 16). A new endpoint without them fails here, with the
remedy in the message."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator

from services.gateway.openapi_check import gaps
from services.gateway.openapi_tags import TAGS, tag_of
from shared.catalog import CATALOG
from tests.conftest import EmbeddedApi


async def merged_document(embedded_api: EmbeddedApi) -> dict[str, Any]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=embedded_api.system.app), base_url="http://icb.test"
    ) as anonymous:
        response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


async def test_every_operation_property_and_body_of_the_public_api_is_documented(
    embedded_api: EmbeddedApi,
) -> None:
    doc = await merged_document(embedded_api)
    missing = gaps(doc)
    assert not missing, f"{len(missing)} gaps:\n" + "\n".join(missing)


async def test_operations_are_grouped_by_resource_in_the_tags_order(
    embedded_api: EmbeddedApi,
) -> None:
    doc = await merged_document(embedded_api)
    names = [tag["name"] for tag in doc["tags"]]
    assert names == [tag.name for tag in TAGS if tag.name in names]
    used = {
        t for operations in doc["paths"].values() for op in operations.values() for t in op["tags"]
    }
    assert used == set(names)
    assert {"Usage", "Modules", "Module orgs", "Companies", "Contracts", "Invoices"} <= used
    for path, operations in doc["paths"].items():
        for op in operations.values():
            tag = tag_of(path)
            assert tag is not None and op["tags"] == [tag.name], path
    # Document order is group order (the viewers list a group's operations in it), and a
    # resource's own paths come before those nested under another resource.
    places = [names.index(next(iter(o.values()))["tags"][0]) for o in doc["paths"].values()]
    assert places == sorted(places)
    paths = doc["paths"]
    in_orgs = [p for p in paths if next(iter(paths[p].values()))["tags"] == ["Module orgs"]]
    assert in_orgs[0] == "/v1/module-orgs"
    assert in_orgs[-1] == "/v1/companies/{company_id}/module-orgs"
    assert paths["/v1/invoices/{invoice_id}/payments"]["post"]["tags"] == ["Payments"]
    assert paths["/v1/invoices/{invoice_id}/post"]["post"]["tags"] == ["Invoices"]
    assert paths["/v1/companies/{company_id}/module-orgs"]["get"]["tags"] == ["Module orgs"]
    assert paths["/v1/modules/{module}/connection"]["put"]["tags"] == ["Module connections"]


async def test_an_operations_own_error_answer_is_documented_as_a_problem(
    embedded_api: EmbeddedApi,
) -> None:
    doc = await merged_document(embedded_api)
    answer = doc["paths"]["/v1/invoices/{invoice_id}"]["get"]["responses"]["406"]
    assert answer["description"].startswith("The Accept header asks for none")
    assert answer["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


async def test_roles_stay_part_of_every_description(embedded_api: EmbeddedApi) -> None:
    doc = await merged_document(embedded_api)
    for path, operations in doc["paths"].items():
        for op in operations.values():
            if path.startswith("/v1/"):
                roles = ", ".join(op["x-roles"])
                assert op["description"].endswith(f"\n\nRoles: {roles}."), path


async def test_each_modules_credential_names_are_in_the_connection_schema(
    embedded_api: EmbeddedApi,
) -> None:
    doc = await merged_document(embedded_api)
    put = doc["paths"]["/v1/modules/{module}/connection"]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    described = schema["properties"]["credentials"]["description"]
    assert CATALOG.connectors
    for kind in CATALOG.connectors.values():
        for credential in kind.credentials:
            assert f"`{credential.name}`" in described
    for module in CATALOG.modules:
        kind = CATALOG.connector(module.id)
        assert kind is not None
        assert all(name in described for name in kind.credential_names)
    example = put["requestBody"]["content"]["application/json"]["example"]
    assert set(example["credentials"]) == set(CATALOG.connectors["generic"].credential_names)


async def test_every_request_body_example_fits_its_schema(embedded_api: EmbeddedApi) -> None:
    doc = await merged_document(embedded_api)
    checked = 0
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                if media_type != "application/json":
                    continue
                root = {**media["schema"], "components": doc["components"]}
                errors = list(Draft202012Validator(root).iter_errors(media["example"]))
                assert not errors, (method, path, [e.message for e in errors])
                checked += 1
    assert checked >= 15
