from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import create_all, create_engine, session_factory
from shared.pagination import (
    MAX_LIMIT,
    PageParams,
    decode_cursor,
    encode_cursor,
    page_params,
    paginate,
)
from shared.problems import PROBLEM_JSON, ValidationFailed, install_problem_handlers

NOT_OURS = [{"loc": ["query", "cursor"], "msg": "not a cursor this API issued"}]

metadata = MetaData(schema="pages")
things = Table(
    "things",
    metadata,
    Column("tenant", String(10), primary_key=True),
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "values",
    [[], [1], ["2026-01-31", 42], ["a/b+c?d=e", None, True, 1.5], ["ünïcødé", "\u0000"]],
)
def test_cursor_round_trip(values: list[Any]) -> None:
    cursor = encode_cursor(values)
    assert re.fullmatch(r"[A-Za-z0-9_=-]*", cursor)  # safe in a query string as is
    assert decode_cursor(cursor) == values


def test_values_without_json_form_become_strings() -> None:
    assert decode_cursor(encode_cursor([date(2026, 1, 31), Decimal("1.50")])) == [
        "2026-01-31",
        "1.50",
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "abc",  # bad padding
        b64(b"not json"),
        b64(b'{"id": 1}'),  # JSON, but not a list
        b64(b"17"),
        b64(b"\xff\xfe\xfa"),  # not UTF-8
        "",
    ],
)
def test_bad_cursor_is_a_422_problem(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    assert caught.value.status == 422
    assert caught.value.errors == NOT_OURS


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things")
    async def list_things(params: Annotated[PageParams, Depends(page_params)]) -> dict[str, Any]:
        values = decode_cursor(params.cursor) if params.cursor else None
        return {"limit": params.limit, "values": values}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as c:
        yield c


async def test_cursor_through_the_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/things", params={"cursor": encode_cursor(["x", 3])})
    assert response.json() == {"limit": 100, "values": ["x", 3]}


async def test_bad_cursor_through_the_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/things", params={"cursor": "%%%not-a-cursor"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "/problems/validation-error",
        "title": "Invalid request",
        "status": 422,
        "detail": "not a cursor this API issued",
        "instance": "/things",
        "errors": NOT_OURS,
    }


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, "ten"])
async def test_limit_out_of_range_is_a_422_problem(client: httpx.AsyncClient, limit: Any) -> None:
    response = await client.get("/things", params={"limit": limit})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [e["loc"] for e in response.json()["errors"]] == [["query", "limit"]]


async def test_overlong_cursor_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/things", params={"cursor": "a" * 2001})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["query", "cursor"]]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pages.db'}", "pages")
    await create_all(engine, metadata)
    async with engine.begin() as conn:
        await conn.execute(
            insert(things),
            [{"tenant": t, "id": i, "name": f"{t}{i}"} for t in ("a", "b") for i in (3, 1, 2)],
        )
    yield engine
    await engine.dispose()


async def pages(session: AsyncSession, limit: int) -> list[list[str]]:
    order = [things.c.tenant, things.c.id]
    result: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await paginate(
            session,
            select(things),
            order,
            PageParams(limit=limit, cursor=cursor),
            to_item=lambda row: str(row.name),
            key_of=lambda row: (row.tenant, row.id),
        )
        result.append(page.items)
        if page.next_cursor is None:
            return result
        cursor = page.next_cursor
        assert len(result) < 10


async def test_paginate_walks_every_row_once(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        assert await pages(session, 4) == [["a1", "a2", "a3", "b1"], ["b2", "b3"]]
        assert await pages(session, 3) == [["a1", "a2", "a3"], ["b1", "b2", "b3"]]
        assert await pages(session, 6) == [["a1", "a2", "a3", "b1", "b2", "b3"]]


async def test_paginate_refuses_a_cursor_of_another_shape(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        with pytest.raises(ValidationFailed) as caught:
            await paginate(
                session,
                select(things),
                [things.c.tenant, things.c.id],
                PageParams(limit=2, cursor=encode_cursor(["a"])),
                to_item=lambda row: row,
                key_of=lambda row: (row.tenant, row.id),
            )
    assert caught.value.errors == NOT_OURS
