"""Bounded polling instead of sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pending:
    """A falsy answer of a predicate that says what is still missing (shown on timeout)."""

    detail: str

    def __bool__(self) -> bool:
        return False


class WaitTimeout(AssertionError):
    pass


async def wait_for(
    predicate: Callable[[], Awaitable[T | Pending | None]],
    seconds: float,
    what: str = "the condition",
    *,
    interval: float = 0.2,
    tolerate: tuple[type[BaseException], ...] = (),
) -> T:
    """Polls ``predicate`` until it answers a truthy value, which is returned.

    Exceptions of the ``tolerate`` types count as "not yet"; any other propagates. After
    ``seconds`` it raises ``WaitTimeout`` with the last answer (or exception).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: object = None
    while True:
        try:
            value = await predicate()
        except tolerate as exc:
            last = exc
        else:
            if value and not isinstance(value, Pending):
                return value
            last = value
        if loop.time() >= deadline:
            detail = last.detail if isinstance(last, Pending) else repr(last)
            raise WaitTimeout(f"timed out after {seconds:g}s waiting for {what}; last: {detail}")
        await asyncio.sleep(interval)
