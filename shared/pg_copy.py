"""Rows in PostgreSQL's COPY text format, and sending such text to a table.

Encoding where the rows are made (a billing worker, say) leaves the process that sends them
only bytes to pass on: nothing to unpickle and nothing for the driver to encode per value.
The format: one line per row, columns separated by tabs, ``\\N`` for NULL, and a backslash,
tab, newline or carriage return inside a value escaped with a backslash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["copy_text", "copy_to_table"]


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _boolean(value: bool) -> str:
    return "t" if value else "f"


_ENCODERS: dict[type, Callable[[Any], str]] = {  # subclasses before their bases
    bool: _boolean,
    int: str,
    str: _text,
    Decimal: str,
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    encode = _ENCODERS.get(type(value))
    if encode is None:  # a subclass (a string enum, say)
        kind = next((k for k in _ENCODERS if isinstance(value, k)), None)
        if kind is None:
            raise TypeError(f"no COPY text for a {type(value).__name__}")
        encode = _ENCODERS[kind]
    return encode(value)


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """``rows`` (of ``str``, ``int``, ``bool``, ``Decimal``, ``date``, ``datetime`` or None
    values) as COPY text."""
    return "".join(["\t".join(map(_field, row)) + "\n" for row in rows]).encode()


async def copy_to_table(
    session: AsyncSession, table: Table, columns: Sequence[str], text: bytes
) -> None:
    """COPY ``text`` into ``table`` in the session's transaction (PostgreSQL)."""
    if not text:
        return
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_to_table(
        table.name,
        schema_name=table.schema,
        columns=list(columns),
        source=_parts(text),
        format="text",
    )


async def _parts(text: bytes, size: int = 1 << 20) -> AsyncIterator[memoryview]:
    """``text`` in parts of ``size`` bytes, as the driver sends a COPY's data."""
    view = memoryview(text)
    for start in range(0, len(view), size):
        yield view[start : start + size]
