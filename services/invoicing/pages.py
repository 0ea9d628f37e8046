"""A page of rows in id order, as the list use cases answer it (the API shapes each row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.pagination import PageParams, paginate

R = TypeVar("R")


@dataclass(frozen=True)
class RowPage(Generic[R]):
    items: list[R]
    next_cursor: str | None


async def rows_page(
    session: AsyncSession,
    query: Select[Any],
    id_column: InstrumentedAttribute[str],
    paging: PageParams,
) -> RowPage[Any]:
    """The rows of ``query`` (one entity) after the cursor, ordered by their unique id."""
    page = await paginate(
        session, query, [id_column.expression], paging, lambda r: r[0], lambda r: (r[0].id,)
    )
    return RowPage(page.items, page.next_cursor)
