"""Reading ahead of the consumer: a task drains an async source into a bounded queue, so that
the source's waits (a database producing the next rows) overlap the consumer's own work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


@contextlib.asynccontextmanager
async def read_ahead(
    source: AsyncGenerator[T, None], group: int, groups: int = 2
) -> AsyncIterator[AsyncIterator[T]]:
    """The items of ``source`` in order, read by a task of their own at most ``groups`` groups
    of ``group`` items ahead of the consumer. The source's error reaches the consumer once it
    took the groups read before it; leaving the block early stops the reading."""
    queue: asyncio.Queue[list[T] | None] = asyncio.Queue(groups)

    async def read() -> None:
        chunk: list[T] = []
        async with contextlib.aclosing(source):
            async for item in source:
                chunk.append(item)
                if len(chunk) == group:
                    await queue.put(chunk)
                    chunk = []
        if chunk:
            await queue.put(chunk)
        await queue.put(None)

    reader = asyncio.create_task(read(), name="read ahead")

    async def items() -> AsyncIterator[T]:
        while True:
            taken = asyncio.ensure_future(queue.get())
            await asyncio.wait({taken, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not taken.done():  # the reader ended without its end mark: it failed
                taken.cancel()
                reader.result()
            chunk = taken.result()
            if chunk is None:
                return
            for item in chunk:
                yield item

    try:
        yield items()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
