"""``str_enum``: a StrEnum column that reads back as the enum, stored as its plain values."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.exc import StatementError

from shared.db import str_enum


class Colour(StrEnum):
    RED = "red"
    DARK_BLUE = "dark blue"


def _table() -> tuple[Table, Table]:
    metadata = MetaData()
    typed = Table(
        "t", metadata, Column("id", Integer, primary_key=True), Column("c", str_enum(Colour, 16))
    )
    plain = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("c", String(16)))
    return typed, plain


def test_values_are_stored_and_read_back_as_members() -> None:
    typed, plain = _table()
    engine = create_engine("sqlite://")
    typed.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(typed), [{"id": 1, "c": Colour.DARK_BLUE}, {"id": 2, "c": "red"}])
        assert list(conn.scalars(select(plain.c.c).order_by(plain.c.id))) == ["dark blue", "red"]
        read = list(conn.scalars(select(typed.c.c).order_by(typed.c.id)))
    assert read == [Colour.DARK_BLUE, Colour.RED]
    assert all(type(value) is Colour for value in read)


def test_the_column_is_a_plain_varchar_without_a_constraint() -> None:
    typed, _ = _table()
    column = typed.c.c
    assert column.type.length == 16  # type: ignore[attr-defined]
    assert not typed.constraints - {typed.primary_key}


def test_an_unknown_word_is_refused_before_it_is_stored() -> None:
    typed, _ = _table()
    engine = create_engine("sqlite://")
    typed.metadata.create_all(engine)
    with engine.begin() as conn, pytest.raises(StatementError):
        conn.execute(insert(typed), [{"id": 1, "c": "green"}])
