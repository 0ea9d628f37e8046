"""POST /v1/usage as ``text/csv`` (PRODUCT.md section 11): the same answer as the JSON form
for the same records, a header required, bad files refused whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.api.test_ingest_usage import YESTERDAY, record, stored

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

HEADER = "module,org_id,org_name,metric,date,quantity"


def as_csv(records: list[dict[str, Any]], header: str = HEADER) -> str:
    columns = header.split(",")
    rows = [",".join(str(r.get(c, "")) for c in columns) for r in records]
    return "\n".join([header, *rows]) + "\n"


async def post_csv(api: EmbeddedApi, text: str, status: int = 200) -> Any:
    response = await api.client.post(
        "/v1/usage", content=text.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == status, response.text
    return response.json()


RECORDS = [
    record(),
    record(org_id="org-2", org_name="Fabrikam", quantity="3"),
    record(module="nope"),
    record(quantity="1.5"),  # servers are whole units
    record(org_id="org-3", date="2020-13-01"),
]


async def test_csv_is_answered_like_json(make_embedded_api: Any) -> None:
    async with make_embedded_api() as by_json, make_embedded_api() as by_csv:
        json_answer = (await by_json.client.post("/v1/usage", json={"records": RECORDS})).json()
        csv_answer = await post_csv(by_csv, as_csv(RECORDS))

        assert csv_answer == json_answer
        assert csv_answer["accepted"] == 2
        assert [r["index"] for r in csv_answer["rejected"]] == [2, 3, 4]
        assert csv_answer["rejected"][0]["errors"][0]["loc"] == ["records", 2, "module"]
        assert {(r.org_id, r.quantity) for r in await stored(by_csv)} == {
            (r.org_id, r.quantity) for r in await stored(by_json)
        }


async def test_columns_in_any_order_and_corrections(embedded_api: EmbeddedApi) -> None:
    header = "quantity,date,metric,org_name,org_id,module"
    first = await post_csv(embedded_api, as_csv([record()], header))
    again = await post_csv(embedded_api, as_csv([record()], header))
    corrected = await post_csv(embedded_api, as_csv([record(quantity="13")]))

    assert (first["accepted"], again["unchanged"], corrected["corrected"]) == (1, 1, 1)
    [row] = await stored(embedded_api)
    assert (row.day, str(row.quantity)) == (YESTERDAY, "13.0000")


async def test_an_empty_cell_is_a_missing_field(embedded_api: EmbeddedApi) -> None:
    answer = await post_csv(embedded_api, as_csv([record(org_name="")]))
    assert answer["rejected"] == [
        {"index": 0, "errors": [{"loc": ["records", 0, "org_name"], "msg": "required string"}]}
    ]


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ("datto_rmm,org-1,Contoso,servers,2026-01-01,1\n", ["body", "header"]),
        ("module,org_id,org_name,metric,date\n", ["body", "header"]),
        (HEADER + ",colour\n", ["body", "header"]),
        ("", ["body", "header"]),
    ],
)
async def test_a_file_without_its_header_is_refused_whole(
    embedded_api: EmbeddedApi, text: str, loc: list[str]
) -> None:
    problem = await post_csv(embedded_api, text, 422)
    assert problem["errors"][0]["loc"] == loc
    assert await stored(embedded_api) == []


async def test_not_utf8_is_refused(embedded_api: EmbeddedApi) -> None:
    response = await embedded_api.client.post(
        "/v1/usage", content=HEADER.encode() + b"\n\xff\xfe", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]


async def test_too_many_rows_are_refused(make_embedded_api: Any) -> None:
    async with make_embedded_api(max_usage_records=2) as api:
        text = as_csv([record(org_id=f"o{i}") for i in range(3)])
        problem = await post_csv(api, text, 413)
        assert problem["type"].endswith("/payload-too-large")
        assert await stored(api) == []
