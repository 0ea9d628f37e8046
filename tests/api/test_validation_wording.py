"""Validation messages read as the validators wrote them, without pydantic's wording, in
problems and in the rows an import rejects."""

from __future__ import annotations

from tests.conftest import EmbeddedApi

WORDING = ("Value error", "Assertion failed")


async def test_a_validator_message_reaches_the_caller_as_written(
    embedded_api: EmbeddedApi,
) -> None:
    api = embedded_api.client
    refused = await api.put("/v1/module-orgs/datto_rmm/org-1/mapping", json={})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["msg"] == "give either company_id or excluded: true"

    report = await api.post(
        "/v1/companies/import",
        content=b"name,currency\nLitware SARL,XYZ\n",
        headers={"content-type": "text/csv"},
    )
    assert report.status_code == 200, report.text
    [row] = report.json()["rejected"]
    assert row["errors"][0]["msg"].startswith("unknown ISO 4217 currency")
    for answer in (refused, report):
        for wording in WORDING:
            assert wording not in answer.text
