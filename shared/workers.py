"""One long-lived pool of worker processes per service, for CPU work off the event loop.

Started with the runtime and shut down with it, instead of a pool per request: its
interpreters start once (spawn: a fresh interpreter, not a copy of a process that runs an
event loop) and only when work first arrives.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
MAX_WORKERS = 8


def worker_count(configured: int) -> int:
    """0: one per CPU core (at most 8)."""
    return configured or min(os.cpu_count() or 1, MAX_WORKERS)


class WorkerPool:
    def __init__(self, size: int) -> None:
        self.size = size
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.size, mp_context=multiprocessing.get_context("spawn")
            )

    def stop(self, wait: bool = True) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)

    @property
    def running(self) -> bool:
        return self._executor is not None

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if self._executor is None:
            raise RuntimeError("the worker pool is not running")
        return asyncio.wrap_future(self._executor.submit(fn, *args))

    async def serve(self) -> None:
        """A runtime background loop: the pool runs until the loop is cancelled."""
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self.stop)
