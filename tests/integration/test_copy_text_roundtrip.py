"""COPY text written by :mod:`shared.pg_copy` reads back as the values it was made of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, Numeric, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, session_factory
from shared.pg_copy import copy_text, copy_to_table

_metadata = MetaData()
_table = Table(
    "copy_probe",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String),
    Column("amount", Numeric(18, 4)),
    Column("day", Date),
)


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, "public")
    async with engine.begin() as connection:
        await connection.run_sync(_metadata.drop_all)
        await connection.run_sync(_metadata.create_all)
    yield engine
    await engine.dispose()


async def test_rows_copied_as_text_read_back_unchanged(engine: AsyncEngine) -> None:
    rows = [
        (
            1,
            'tab\there, line\nbreak, back\\slash, {"json":"\\n"}, ümlaut',
            Decimal("-1.2345"),
            None,
        ),
        (2, None, Decimal("1E+3"), date(2026, 2, 28)),
        (3, "\\N", Decimal(0), date(2026, 1, 1)),  # the text \N, not NULL
    ]
    async with session_factory(engine)() as session, session.begin():
        await copy_to_table(session, _table, ["id", "label", "amount", "day"], copy_text(rows))
    async with session_factory(engine)() as session:
        stored = [tuple(r) for r in await session.execute(select(_table).order_by(_table.c.id))]
    assert stored == rows
    assert str(stored[1][2]) == "1000.0000"
