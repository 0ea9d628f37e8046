"""Keyset pagination: ``limit`` and an opaque ``cursor``; answers ``{items, next_cursor}``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.openapi_docs import ApiModel
from shared.problems import invalid

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(ApiModel, Generic[T]):
    items: list[T]
    """This page's items, at most ``limit``."""
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page; null on the last page."""


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(["query", "cursor"], "not a cursor this API issued") from exc
    if not isinstance(values, list):
        raise invalid(["query", "cursor"], "not a cursor this API issued")
    return values


class PageParams(BaseModel):
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="The most items on a page.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="The previous page's `next_cursor`; none: the first."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def page_of(items: Sequence[T], params: PageParams) -> Page[T]:
    """A page of a list computed whole in memory (the module catalog, insights): the cursor
    is the position after the last item shown, so a list that changes between two pages may
    repeat or skip an item, as a keyset over stored rows would not."""
    start = 0
    if params.cursor:
        values = decode_cursor(params.cursor)
        if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
            raise invalid(["query", "cursor"], "not a cursor this API issued")
        start = values[0]
    end = start + params.limit
    return Page(
        items=list(items[start:end]),
        next_cursor=encode_cursor([end]) if end < len(items) else None,
    )


async def paginate(
    session: AsyncSession,
    query: Select[Any],
    order: Sequence[ColumnElement[Any]],
    params: PageParams,
    to_item: Callable[[Any], T],
    key_of: Callable[[Any], Sequence[Any]],
) -> Page[T]:
    """``order`` columns must be unique together; their values make the cursor."""
    if params.cursor:
        values = decode_cursor(params.cursor)
        if len(values) != len(order):
            raise invalid(["query", "cursor"], "not a cursor this API issued")
        query = query.where(tuple_(*order) > tuple_(*values))
    rows = (await session.execute(query.order_by(*order).limit(params.limit + 1))).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page(
        items=[to_item(r) for r in rows],
        next_cursor=encode_cursor(key_of(rows[-1])) if more and rows else None,
    )
