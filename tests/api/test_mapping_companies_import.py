"""POST /v1/companies/import: a CSV file of companies, every valid row created, every other
row reported with the reason."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.test_mapping_support import MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

CSV = "text/csv"


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def upload(m: MappingApi, text: str | bytes, content_type: str = CSV) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return await m.api.client.post(
        "/v1/companies/import", content=body, headers={"content-type": content_type}
    )


async def test_valid_rows_are_created_and_bad_rows_reported(m: MappingApi) -> None:
    await m.company("Already There Ltd", external_ref="C-9")
    report = ok(
        await upload(
            m,
            "\n".join(
                [
                    "name,external_ref,tax_rate,currency",  # line 1
                    "Contoso Ltd,C-1,0.2,GBP",  # 2: created
                    ",C-2,0.2,GBP",  # 3: no name
                    "Fabrikam Inc,C-3,1.5,USD",  # 4: tax rate above 1
                    "Litware SARL,C-4,0.2,XYZ",  # 5: unknown currency
                    "Northwind Traders,C-1,0,EUR",  # 6: external_ref repeats line 2
                    "Namesake Ltd,C-9,0,GBP",  # 7: external_ref of an existing company
                    "",  # blank lines are skipped
                    '"Tailspin Toys, Inc.",,,',  # 9: created, quoted comma, defaults
                    "Wingtip Toys,C-5,abc,EUR",  # 10: tax rate not a number
                    "Adventure Works,C-6,0.19,EUR,surplus",  # 11: one field too many
                ]
            )
            + "\n",
        )
    )

    assert report["created"] == 2
    assert [c["name"] for c in report["companies"]] == ["Contoso Ltd", "Tailspin Toys, Inc."]
    contoso, tailspin = report["companies"]
    assert (contoso["external_ref"], Decimal(contoso["tax_rate"]), contoso["currency"]) == (
        "C-1",
        Decimal("0.2"),
        "GBP",
    )
    assert (tailspin["external_ref"], Decimal(tailspin["tax_rate"]), tailspin["currency"]) == (
        None,
        Decimal(0),
        None,
    )
    rejected = {r["row"]: r["errors"] for r in report["rejected"]}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 10, 11]
    assert [e["loc"] for e in rejected[3]] == [["row", 3, "name"]]
    assert [e["loc"] for e in rejected[4]] == [["row", 4, "tax_rate"]]
    assert [e["loc"] for e in rejected[5]] == [["row", 5, "currency"]]
    assert "unknown ISO 4217 currency 'XYZ'" in rejected[5][0]["msg"]
    assert rejected[6] == [
        {"loc": ["row", 6, "external_ref"], "msg": "external_ref 'C-1' is already used by line 2"}
    ]
    assert rejected[7] == [
        {
            "loc": ["row", 7, "external_ref"],
            "msg": "external_ref 'C-9' is already used by an existing company",
        }
    ]
    assert [e["loc"] for e in rejected[10]] == [["row", 10, "tax_rate"]]
    assert rejected[11] == [{"loc": ["row", 11], "msg": "1 more field(s) than the header names"}]

    listed = ok(await m.api.client.get("/v1/companies", params={"limit": 100}))["items"]
    assert sorted(c["name"] for c in listed) == [
        "Already There Ltd",
        "Contoso Ltd",
        "Tailspin Toys, Inc.",
    ]


async def test_semicolons_a_byte_order_mark_and_any_column_order(m: MappingApi) -> None:
    text = "\ufeffCurrency; Name ;External_Ref\nEUR;Müller & Söhne GmbH;DE-1\n;Bäckerei Groß;\n"
    report = ok(await upload(m, text.encode("utf-8"), "text/csv; charset=utf-8"))
    assert (report["created"], report["rejected"]) == (2, [])
    assert [(c["name"], c["external_ref"], c["currency"]) for c in report["companies"]] == [
        ("Müller & Söhne GmbH", "DE-1", "EUR"),
        ("Bäckerei Groß", None, None),
    ]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ("", ["body", "header"]),
        ("name,vat\nContoso,0.2\n", ["body", "header"]),
        ("external_ref\nC-1\n", ["body", "header"]),
        ("name,name\nA,B\n", ["body", "header"]),
        (b"name\n\xff\xfe\n", ["body"]),
    ],
)
async def test_an_unusable_file_is_refused_whole(
    m: MappingApi, body: str | bytes, loc: list[str]
) -> None:
    response = await upload(m, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc
    assert ok(await m.api.client.get("/v1/companies"))["items"] == []


async def test_only_csv_and_only_for_writers(m: MappingApi) -> None:
    response = await upload(m, '{"name": "Contoso"}', "application/json")
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"
    _, viewer = await m.key("viewer")
    async with viewer:
        refused = await viewer.post(
            "/v1/companies/import", content=b"name\nContoso\n", headers={"content-type": CSV}
        )
    assert refused.status_code == 403
    assert ok(await m.api.client.get("/v1/companies"))["items"] == []
