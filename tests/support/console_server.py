"""The embedded system with a small demo-like tenant, served by uvicorn on a free port in a
thread of its own, for the browser tests of the console (and for looking at it by hand:
``python -m tests.support.console_server`` prints the URL and keys and keeps serving)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from launcher.embedded import EmbeddedSystem
from launcher.periods import last_month
from services.gateway.keys import create_tenant
from tests.support.stack import free_port
from tools.sample import generate
from tools.sample.load import LoadReport, load_setup, load_usage, map_orgs_by_truth

UNMAPPED_LEFT = 6


@dataclass(frozen=True)
class ConsoleServer:
    url: str
    period: str
    keys: dict[str, str]  # role -> key
    settle: Callable[[], None] = field(default=lambda: None, compare=False)
    """Waits (from the test's thread) until the pipeline has handled what the API took."""


async def _call(client: httpx.AsyncClient, method: str, path: str, body: object) -> object:
    response = await client.request(method, path, json=body)
    response.raise_for_status()
    return response.json() if response.content else None


async def _load(system: EmbeddedSystem, base: str, companies: int) -> ConsoleServer:
    async with system.gateway.sessions() as session, session.begin():
        issued = await create_tenant(session, "Console MSP", "UTC")
    period = last_month()
    msp = generate(seed=11, companies=companies, period=period)
    until = dt.date.today() - dt.timedelta(days=1)
    keys = {"admin": issued.key}
    headers = {"Authorization": f"Bearer {issued.key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for role in ("billing", "viewer"):
            made = await _call(client, "POST", "/v1/api-keys", {"name": role, "role": role})
            assert isinstance(made, dict)
            keys[role] = made["key"]
        report = LoadReport()
        await load_setup(client, msp, report)
        await load_usage(client, msp, report, until=until)
        mappable = [o for o in msp.orgs if o.company_key is not None]
        skip = {(o.module, o.org_id) for o in mappable[:UNMAPPED_LEFT]}
        await map_orgs_by_truth(client, msp, report, skip=skip)
        await system.settle(120)
        await _call(client, "POST", "/v1/billing-runs", {"period": period})
    return ConsoleServer(base, period, keys)


@contextlib.contextmanager
def console_server(data_dir: Path, companies: int = 6) -> Iterator[ConsoleServer]:
    """Serves until the block ends; the tenant is loaded before the block starts."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Private webhook targets: the browser tests' receiver listens on the loopback.
    system = EmbeddedSystem(
        data_dir, environment="test", rate_limit_burst=100_000, webhook_allow_private=True
    )
    server = uvicorn.Server(
        uvicorn.Config(system.app, host="127.0.0.1", port=port, log_level="warning")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the console's server did not start")
            threading.Event().wait(0.05)
        loaded = asyncio.run_coroutine_threadsafe(_load(system, base, companies), loop).result(600)

        def settle() -> None:
            asyncio.run_coroutine_threadsafe(system.settle(120), loop).result(180)

        yield dataclasses.replace(loaded, settle=settle)
    finally:
        server.should_exit = True
        thread.join(60)
        loop.close()


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, console_server(Path(tmp), 12) as served:
        print(served.url, served.period, served.keys, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait(float(sys.argv[1]) if len(sys.argv) > 1 else 1e9)
