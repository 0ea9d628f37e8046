"""A background loop that works off a durable queue (a table) in batches.

``drain_once`` does one batch in its own transaction and answers how much it did; the loop
goes on at once while there is work, otherwise it waits for ``notify`` (a commit that queued
something) or for the poll interval (work queued by another process), and after an error it
waits a poll interval and tries again: what a failed batch did rolled back with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class DrainLoop:
    def __init__(self, poll_seconds: float, what: str) -> None:
        self._poll = poll_seconds
        self._what = what
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        raise NotImplementedError

    async def run(self) -> None:
        while True:
            try:
                done = await self.drain_once()
            except Exception:
                log.exception("%s failed; retrying", self._what)
                await asyncio.sleep(self._poll)
                continue
            if done:
                continue
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that coincides with the wake-up, and the loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
