"""POST /v1/usage in the embedded system: precise rejections, limits, corrections, renames,
and nothing acknowledged before it is durable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select, text

from services.ingest.models import UsageRecordRow
from tools.sample import as_usage_json, generate

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

TODAY = datetime.now(UTC).date()  # the test tenant's zone is UTC
YESTERDAY = TODAY - timedelta(days=1)


def record(**changes: Any) -> dict[str, Any]:
    base = {
        "module": "datto_rmm",
        "org_id": "org-1",
        "org_name": "Contoso Ltd.",
        "metric": "servers",
        "date": YESTERDAY.isoformat(),
        "quantity": "12",
    }
    return {**base, **changes}


async def stored(api: EmbeddedApi) -> list[UsageRecordRow]:
    async with api.system.runtimes["ingest"].sessions() as session:
        return list(
            await session.scalars(
                select(UsageRecordRow).where(UsageRecordRow.tenant_id == api.tenant_id)
            )
        )


async def outbox_size(api: EmbeddedApi) -> int:
    runtime = api.system.ingest
    async with runtime.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(runtime.outbox_table)) or 0
        )


async def post(api: EmbeddedApi, records: list[Any], status: int = 200) -> Any:
    response = await api.client.post("/v1/usage", json={"records": records})
    assert response.status_code == status, response.text
    return response.json()


BAD_RECORDS: list[tuple[str, Any, str, str]] = [
    ("unknown module", record(module="nope"), "module", "unknown module 'nope'"),
    ("module not a string", record(module=7), "module", "unknown module 7"),
    (
        "unknown metric",
        record(metric="cpus"),
        "metric",
        "unknown metric 'cpus' for module datto_rmm",
    ),
    (
        "org_id missing",
        {k: v for k, v in record().items() if k != "org_id"},
        "org_id",
        "required string",
    ),
    ("org_id a number", record(org_id=42), "org_id", "must be a string"),
    ("org_id blank", record(org_id="   "), "org_id", "must not be empty"),
    ("org_id too long", record(org_id="x" * 201), "org_id", "longer than 200 characters"),
    ("org_name too long", record(org_name="x" * 301), "org_name", "longer than 300 characters"),
    ("date not ISO", record(date="27/11/2026"), "date", "must be a date as YYYY-MM-DD"),
    (
        "date not a calendar day",
        record(date="2026-02-30"),
        "date",
        "2026-02-30 is not a calendar date",
    ),
    (
        "date in the future",
        record(date=(TODAY + timedelta(days=1)).isoformat()),
        "date",
        "is in the future for the tenant",
    ),
    (
        "date too old",
        record(date=(TODAY - timedelta(days=401)).isoformat()),
        "date",
        "is older than 400 days",
    ),
    (
        "quantity missing",
        {k: v for k, v in record().items() if k != "quantity"},
        "quantity",
        "must be a decimal number or a decimal string",
    ),
    (
        "quantity a boolean",
        record(quantity=True),
        "quantity",
        "must be a decimal number or a decimal string",
    ),
    (
        "quantity not a number",
        record(quantity="twelve"),
        "quantity",
        "'twelve' is not a decimal number",
    ),
    ("quantity NaN", record(quantity="NaN"), "quantity", "must be a finite number"),
    ("quantity too large", record(quantity="1e15"), "quantity", "is too large"),
    ("quantity negative", record(quantity="-1"), "quantity", "quantity must not be negative"),
    (
        "count with a fraction",
        record(quantity="1.5"),
        "quantity",
        "quantity must be a whole number (unit 'device' is a count)",
    ),
    (
        "too many digits",
        record(module="datto_azure_backup", metric="storage_tb", quantity="1.00001"),
        "quantity",
        "quantity has more than 4 fractional digits",
    ),
    ("not an object", "datto_rmm,org-1,servers,12", "record", "must be an object"),
]


@pytest.mark.parametrize(
    ("case", "bad", "field", "msg"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS]
)
async def test_each_bad_record_gets_its_precise_error_and_stores_nothing(
    embedded_api: EmbeddedApi, case: str, bad: Any, field: str, msg: str
) -> None:
    good = record(org_id="good-org")
    answer = await post(embedded_api, [good, bad])
    assert answer["accepted"] == 1 and answer["unchanged"] == 0 and answer["corrected"] == 0
    assert len(answer["rejected"]) == 1, case
    rejection = answer["rejected"][0]
    assert rejection["index"] == 1
    assert {"loc": ["records", 1, field], "msg": msg} in rejection["errors"] or any(
        e["loc"] == ["records", 1, field] and msg in e["msg"] for e in rejection["errors"]
    ), rejection
    assert [r.org_id for r in await stored(embedded_api)] == ["good-org"]


async def test_every_error_of_a_record_is_reported(embedded_api: EmbeddedApi) -> None:
    answer = await post(
        embedded_api, [record(metric="cpus", org_name="", date="soon", quantity="-x")]
    )
    fields = [e["loc"][2] for e in answer["rejected"][0]["errors"]]
    assert fields == ["metric", "org_name", "date", "quantity"]
    assert await stored(embedded_api) == []


async def test_one_key_twice_with_two_quantities_rejects_both(embedded_api: EmbeddedApi) -> None:
    answer = await post(
        embedded_api, [record(quantity="1"), record(quantity="2"), record(org_id="other")]
    )
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 1]
    assert [r.org_id for r in await stored(embedded_api)] == ["other"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"{not json", ["body"]),
        (b'{"rows": []}', ["body", "records"]),
        (b'{"records": {"a": 1}}', ["body", "records"]),
        (b"[]", ["body", "records"]),
    ],
)
async def test_a_malformed_body_answers_422(
    embedded_api: EmbeddedApi, body: bytes, loc: list[str]
) -> None:
    response = await embedded_api.client.post(
        "/v1/usage", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 422 and problem["errors"][0]["loc"] == loc


def sample_records(n: int) -> list[dict[str, str]]:
    msp = generate(seed=3, companies=40, period=YESTERDAY.strftime("%Y-%m"))
    stream = msp.records(YESTERDAY - timedelta(days=120), YESTERDAY)
    records = [as_usage_json(r) for r in islice(stream, n)]
    assert len(records) == n
    return records


async def test_10000_records_round_trip(embedded_api: EmbeddedApi) -> None:
    records = sample_records(10_000)
    assert await post(embedded_api, records) == {
        "accepted": 10_000,
        "unchanged": 0,
        "corrected": 0,
        "rejected": [],
    }
    assert len(await stored(embedded_api)) == 10_000
    await embedded_api.settle(timeout=120)
    modules = (await embedded_api.client.get("/v1/modules")).json()["items"]
    orgs = {(r["module"], r["org_id"]) for r in records}
    assert sum(m["org_count"] for m in modules) == len(orgs)
    # The same request again (a client retrying after a lost answer) changes nothing.
    assert await post(embedded_api, records) == {
        "accepted": 0,
        "unchanged": 10_000,
        "corrected": 0,
        "rejected": [],
    }
    assert await outbox_size(embedded_api) == 0


async def test_10001_records_are_refused_whole(embedded_api: EmbeddedApi) -> None:
    records = [record(org_id=f"org-{i}") for i in range(10_001)]
    response = await embedded_api.client.post("/v1/usage", json={"records": records})
    assert response.status_code == 413
    assert response.json()["detail"] == "10001 records; at most 10000 are taken per request."
    assert await stored(embedded_api) == []


async def test_an_oversized_body_is_refused(embedded_api: EmbeddedApi) -> None:
    embedded_api.system.ingest.settings.max_body_bytes = 2_000
    records = [record(org_id=f"org-{i}") for i in range(30)]
    response = await embedded_api.client.post("/v1/usage", json={"records": records})
    assert response.status_code == 413
    assert response.json()["type"].endswith("payload-too-large")
    assert await stored(embedded_api) == []


async def test_repeat_is_unchanged_and_publishes_nothing(embedded_api: EmbeddedApi) -> None:
    await post(embedded_api, [record()])
    await embedded_api.settle()
    assert await post(embedded_api, [record(), record()]) == {
        "accepted": 0,
        "unchanged": 2,
        "corrected": 0,
        "rejected": [],
    }
    assert await outbox_size(embedded_api) == 0
    rows = await stored(embedded_api)
    assert [(r.quantity, r.revision) for r in rows] == [(Decimal("12"), 1)]


async def test_a_new_org_name_renames_the_org_for_mapping(embedded_api: EmbeddedApi) -> None:
    await post(embedded_api, [record()])
    answer = await post(embedded_api, [record(org_name="CONTOSO LIMITED")])
    assert answer == {"accepted": 0, "unchanged": 1, "corrected": 0, "rejected": []}
    await embedded_api.settle()
    orgs = (
        await embedded_api.client.get("/v1/module-orgs", params={"module": "datto_rmm"})
    ).json()["items"]
    assert [(o["org_id"], o["org_name"]) for o in orgs] == [("org-1", "CONTOSO LIMITED")]
    rows = await stored(embedded_api)
    assert [(r.org_name, r.revision) for r in rows] == [("CONTOSO LIMITED", 1)]


async def org_row_version(api: EmbeddedApi) -> str | None:
    """The transaction that wrote the module org's row last (PostgreSQL's ``xmin``); None on
    SQLite, which keeps no such mark."""
    async with api.system.runtimes["mapping"].sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return None
        return await session.scalar(text("SELECT xmin::text FROM mapping.module_orgs"))


async def test_an_org_keeps_the_name_of_its_latest_day_and_the_span_of_its_days(
    embedded_api: EmbeddedApi,
) -> None:
    def day(n: int) -> str:
        return (TODAY - timedelta(days=n)).isoformat()

    async def org() -> tuple[str, str, str]:
        await embedded_api.settle()
        [o] = (
            await embedded_api.client.get("/v1/module-orgs", params={"module": "datto_rmm"})
        ).json()["items"]
        return o["org_name"], o["first_seen"], o["last_seen"]

    await post(embedded_api, [record(date=day(5), org_name="Contoso")])
    await post(embedded_api, [record(date=day(3), org_name="Contoso Ltd.")])
    assert await org() == ("Contoso Ltd.", day(5), day(3))
    # an older day, under its old name: the span grows, the latest day's name stays
    await post(embedded_api, [record(date=day(8), org_name="Contoso GmbH")])
    assert await org() == ("Contoso Ltd.", day(8), day(3))
    # a day inside the span, another metric: nothing changes, and on PostgreSQL the row is
    # not even written again (the same row version)
    version = await org_row_version(embedded_api)
    await post(embedded_api, [record(date=day(4), metric="desktops_laptops", org_name="Old")])
    assert await org() == ("Contoso Ltd.", day(8), day(3))
    assert await org_row_version(embedded_api) == version
    # the latest day again under a new name: renamed
    await post(embedded_api, [record(date=day(3), metric="desktops_laptops", org_name="Contoso")])
    assert await org() == ("Contoso", day(8), day(3))


async def test_a_crash_before_the_commit_loses_nothing_and_a_retry_takes_effect_once(
    embedded_api: EmbeddedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = embedded_api.system.ingest.outbox
    real_add = outbox.add

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(outbox, "add", crash)
    records = [record(org_id=f"org-{i}") for i in range(5)]
    response = await embedded_api.client.post("/v1/usage", json={"records": records})
    assert response.status_code >= 500
    assert await stored(embedded_api) == []  # not acknowledged, not stored
    monkeypatch.setattr(outbox, "add", real_add)
    assert (await post(embedded_api, records))["accepted"] == 5
    assert (await post(embedded_api, records))["unchanged"] == 5
    assert len(await stored(embedded_api)) == 5
