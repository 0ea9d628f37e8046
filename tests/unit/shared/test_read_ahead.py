"""read_ahead: the source's items in order, read ahead by a bounded amount; its error after
the items before it; leaving early stops and closes the source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from shared.read_ahead import read_ahead


class Source:
    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.produced = 0
        self.closed = False

    async def items(self) -> AsyncGenerator[int, None]:
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise RuntimeError(f"source failed at {i}")
                self.produced += 1
                yield i
                await asyncio.sleep(0)
        finally:
            self.closed = True


async def test_every_item_in_order() -> None:
    source = Source(1001)
    async with read_ahead(source.items(), group=10) as items:
        assert [i async for i in items] == list(range(1001))
    assert source.closed


async def test_reads_ahead_by_at_most_the_queue_and_a_group() -> None:
    source = Source(1000)
    async with read_ahead(source.items(), group=10, groups=2) as items:
        first = await anext(items)
        for _ in range(50):
            await asyncio.sleep(0)
        # two groups queued, one being filled, the first taken: far fewer than all
        assert first == 0
        assert 20 <= source.produced <= 41


async def test_the_source_error_comes_after_the_items_before_it() -> None:
    source = Source(100, fail_at=25)
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="source failed at 25"):
        async with read_ahead(source.items(), group=10) as items:
            async for i in items:
                seen.append(i)
    assert seen == list(range(20))  # the group being filled when it failed is lost with it


async def test_leaving_early_stops_and_closes_the_source() -> None:
    source = Source(10_000)
    async with read_ahead(source.items(), group=10) as items:
        async for i in items:
            if i == 5:
                break
    await asyncio.sleep(0)
    assert source.closed
    assert source.produced < 100
