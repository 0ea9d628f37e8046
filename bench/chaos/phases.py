"""Runs a phase's faults while the client works through it: a fault due at a share of the
phase starts before the client goes past that share (so it lands mid-load), and the client
carries on, retrying, while the fault lasts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bench.chaos.faults import Injector, Note
from bench.chaos.schedule import Fault

ARM_POLL_SECONDS = 0.1


class ShareFaults:
    """Faults placed at shares of a phase (the usage sent, the drafts posted)."""

    def __init__(self, injector: Injector, faults: list[Fault]) -> None:
        self._injector = injector
        self._faults = faults
        self._started = [asyncio.Event() for _ in faults]
        self._share = 0.0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        for fault, started in zip(self._faults, self._started, strict=True):
            while self._share < fault.at:
                self._moved.clear()
                await self._moved.wait()
            started.set()
            await self._injector.inject(fault)

    async def gate(self, share: float) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        self._share = share
        self._moved.set()
        for fault, started in zip(self._faults, self._started, strict=True):
            if fault.at <= share and not started.is_set():
                waiting = asyncio.create_task(started.wait())
                await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if self._task.done():
                    self._task.result()

    async def finish(self) -> None:
        """The phase's remaining faults (a short phase may outrun them) and their recovery."""
        await self.gate(1.0)
        if self._task is not None:
            await self._task


async def with_timed_faults(
    injector: Injector,
    faults: list[Fault],
    work: Callable[[], Awaitable[Any]],
    note: Note | None = None,
    armed: Callable[[], Awaitable[bool]] | None = None,
) -> Any:
    """Runs ``work`` with each fault injected ``fault.at`` seconds after it began, or after
    ``armed`` first said yes (a billing run a worker has taken up)."""

    async def timed() -> None:
        while armed is not None:
            if await armed():
                break
            await asyncio.sleep(ARM_POLL_SECONDS)
        began = asyncio.get_running_loop().time()
        for fault in sorted(faults, key=lambda f: f.at):
            await asyncio.sleep(max(0.0, began + fault.at - asyncio.get_running_loop().time()))
            await injector.inject(fault, note)

    injecting = asyncio.create_task(timed())
    try:
        result = await work()
    except BaseException:
        injecting.cancel()
        raise
    await injecting
    return result
