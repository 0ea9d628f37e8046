"""Injects the schedule's faults into the running stack and times each recovery: from the
moment the part was restored (started again, resumed) until every service answers ready and
the gateway serves a key again."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from random import Random

import httpx

from bench.chaos.infra import Infra
from bench.chaos.schedule import SERVICES, Fault
from tests.support.stack import Stack

Note = Callable[[], Awaitable[str]]
"""says, just before a fault, what the stack is in the middle of"""
SESSION_TIMEOUT_SECONDS = 10.0
"""aiokafka's default consumer session timeout, which the services keep"""
PAUSE_SECONDS = SESSION_TIMEOUT_SECONDS + 5.0
RECOVERY_LIMIT_SECONDS = 180.0


@dataclass(frozen=True)
class Injected:
    fault: Fault
    started: float
    """seconds since the run began"""
    outage: float
    """seconds from the fault until the part was restored"""
    recovery: float
    """seconds from then until the whole stack answered again"""
    note: str = ""
    """what was going on when the fault came (a re-resolution's backlog, a run's progress)"""

    def line(self) -> str:
        return (
            f"t={self.started:7.1f}s  {self.fault.describe():<52} "
            f"down {self.outage:5.1f}s, recovered in {self.recovery:5.1f}s"
            + (f"  ({self.note})" if self.note else "")
        )


@dataclass
class Injector:
    stack: Stack
    infra: Infra
    probe_key: str
    in_flight: asyncio.Event
    """set while the client has a request on its way (the gateway restart waits for one)"""
    seed: int
    began: float = field(default_factory=time.monotonic)
    done: list[Injected] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = Random(self.seed)

    async def inject(self, fault: Fault, note: Note | None = None) -> Injected:
        said = await note() if note is not None else ""
        started = time.monotonic()
        await self._break_and_restore(fault)
        restored = time.monotonic()
        await self.recovered()
        injected = Injected(
            fault, started - self.began, restored - started, time.monotonic() - restored, said
        )
        self.done.append(injected)
        print(injected.line(), flush=True)
        return injected

    async def _break_and_restore(self, fault: Fault) -> None:
        if fault.kind == "kill":
            await self.stack.kill(fault.target)
            await self.stack._spawn(fault.target)
        elif fault.kind == "restart":
            await self._restart_mid_request(fault.target)
        elif fault.kind == "pause":
            pid = self._pid(fault.target)
            os.kill(pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(PAUSE_SECONDS)
            finally:
                os.kill(pid, signal.SIGCONT)
        elif fault.kind == "kafka":
            await self.infra.stop_kafka()
            await self.infra.start_kafka()
        elif fault.kind == "postgres":
            await self.infra.stop_postgres()
            await self.infra.start_postgres()
        else:
            raise ValueError(f"unknown fault {fault.kind!r}")

    def _pid(self, name: str) -> int:
        process = self.stack.services[name].process
        assert process is not None and process.returncode is None, f"{name} is not running"
        return process.pid

    async def _restart_mid_request(self, name: str) -> None:
        """SIGTERM (a deploy's restart) while the client waits for an answer."""
        await asyncio.wait_for(self.in_flight.wait(), 120)
        await asyncio.sleep(self._rng.uniform(0.0, 0.05))
        process = self.stack.services[name].process
        assert process is not None
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        await self.stack._spawn(name)

    async def recovered(self) -> None:
        """Every service ready and the gateway answering a key lookup (200)."""
        deadline = time.monotonic() + RECOVERY_LIMIT_SECONDS
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                if await self._all_ready(http):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the stack did not recover in {RECOVERY_LIMIT_SECONDS}s")
                await asyncio.sleep(0.1)

    async def _all_ready(self, http: httpx.AsyncClient) -> bool:
        try:
            for name in SERVICES:
                if not self.stack.running(name):
                    raise RuntimeError(f"{name} exited; see {self.stack.services[name].log}")
                if (await http.get(f"{self.stack.url(name)}/readyz")).status_code != 200:
                    return False
            probe = await http.get(
                f"{self.stack.url('gateway')}/v1/api-keys/current",
                headers={"Authorization": f"Bearer {self.probe_key}"},
            )
        except httpx.TransportError:
            return False
        return probe.status_code == 200
