"""Progress bars on standard error, so that standard output keeps only the results."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


@contextlib.asynccontextmanager
async def watched(
    bar: Progress, description: str, total: int | None, done: Callable[[], int]
) -> AsyncIterator[None]:
    """A task of ``bar`` that follows ``done()`` while the block runs (for work that reports
    its count in a shared object rather than through callbacks)."""
    task = bar.add_task(description, total=total)

    async def follow() -> None:
        while True:
            bar.update(task, completed=done())
            await asyncio.sleep(0.1)

    follower = asyncio.create_task(follow())
    try:
        yield
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        bar.update(task, completed=done())
        if total is None:
            bar.stop_task(task)
