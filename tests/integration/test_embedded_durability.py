"""The embedded mode keeps what it acknowledged: ``icb serve --embedded`` killed with SIGKILL
in the middle of a usage load, four times, and restarted on the same data directory; the client
resends what was not acknowledged, as a real integration would. In the end every
acknowledged record is in the unit table exactly once (its quantity, not twice it), and
nothing else is.

Before the in-process bus waited for its consumers, the outbox relay deleted its rows as soon
as the bus had them in memory: a kill between that and the consumers' commits lost them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.polling import Pending, wait_for
from tests.support.scenario import get_all, ok
from tests.support.stack import free_port

REPO = Path(__file__).resolve().parents[2]
MODULE, METRIC, CODE = "datto_rmm", "servers", "RMM-SRV"
ORGS = tuple(f"org-{i}" for i in range(20))
DAYS = 240
BATCH_DAYS = 5  # a batch: every org for five days
CONCURRENCY = 4  # batches in flight at once: the consumers fall behind the relays
SEED = 20261130
KILLS = 4


def env() -> dict[str, str]:
    """The embedded system on its own SQLite files: nothing of the environment's stack."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ICB_")}
    return {**clean, "ICB_ENVIRONMENT": "test", "ICB_LOG_LEVEL": "WARNING"}


async def icb(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "launcher.cli", *args, cwd=REPO, env=env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


class Server:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "launcher.cli", "serve", "--embedded",
                "--port", str(self.port), "--data-dir", str(self.data_dir),
                cwd=REPO, env=env(), stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

        async def ready() -> bool | Pending:
            assert self.process is not None and self.process.returncode is None, self.log
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    answer = await http.get(f"{self.url}/readyz")
            except httpx.HTTPError as exc:
                return Pending(repr(exc))
            return answer.status_code == 200 or Pending(answer.text)

        await wait_for(ready, 60, "the embedded system to be ready", interval=0.1)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


def batches(rng: random.Random) -> list[list[dict[str, Any]]]:
    first = date.today() - timedelta(days=DAYS)
    made = []
    for start in range(0, DAYS, BATCH_DAYS):
        made.append(
            [
                {
                    "module": MODULE,
                    "org_id": org,
                    "org_name": f"Customer {org}",
                    "metric": METRIC,
                    "date": (first + timedelta(days=start + d)).isoformat(),
                    "quantity": str(rng.randint(1, 500)),
                }
                for d in range(BATCH_DAYS)
                for org in ORGS
            ]
        )
    return made


async def prepare(api: httpx.AsyncClient) -> dict[str, str]:
    """Companies, mappings and billing, so that each org's usage reaches the unit table."""
    since = (date.today() - timedelta(days=DAYS + 1)).isoformat()
    ok(
        await api.put(
            f"/v1/modules/{MODULE}/billing", json={"enabled": True, "effective_from": since}
        )
    )
    companies = {
        org: ok(await api.post("/v1/companies", json={"name": f"Company {org}"}), 201)["id"]
        for org in ORGS
    }
    seed = [
        {"module": MODULE, "org_id": org, "org_name": f"Customer {org}", "metric": METRIC,
         "date": since, "quantity": "1"}
        for org in ORGS
    ]  # fmt: skip
    ok(await api.post("/v1/usage", json={"records": seed}))

    async def visible() -> bool | Pending:
        seen = {o["org_id"] for o in await get_all(api, "/v1/module-orgs", module=MODULE)}
        return set(ORGS) <= seen or Pending(f"orgs seen: {sorted(seen)}")

    await wait_for(visible, 60, "the module orgs")
    ok(await api.put(f"/v1/service-mappings/{MODULE}/{METRIC}", json={"service_codes": [CODE]}))
    for org, company in companies.items():
        ok(await api.put(f"/v1/module-orgs/{MODULE}/{org}/mapping", json={"company_id": company}))
    return companies


async def test_kill_9_mid_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    key = await icb("tenant", "create", "Durable MSP", "--data-dir", str(data_dir))
    key = key.strip().splitlines()[-1]
    server = Server(data_dir, tmp_path / "serve.log")
    headers = {"Authorization": f"Bearer {key}"}
    await server.start()
    acknowledged: dict[tuple[str, str], str] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as api:
            companies = await prepare(api)
        for org in ORGS:  # the seed records count too
            acknowledged[(org, (date.today() - timedelta(days=DAYS + 1)).isoformat())] = "1"
        pending = batches(rng)
        rounds = -(-len(pending) // CONCURRENCY)
        kills = set(rng.sample(range(2, rounds - 2), KILLS))
        print(f"kill -9 in rounds {sorted(kills)} of {rounds}")
        for round_ in range(rounds):
            if not pending:
                break
            group = pending[:CONCURRENCY]
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as api:
                posts = [
                    asyncio.create_task(api.post("/v1/usage", json={"records": b})) for b in group
                ]
                if round_ in kills:
                    # Mid-request and mid-pipeline: earlier batches are still flowing.
                    await asyncio.sleep(rng.uniform(0.05, 0.4))
                    await server.kill()
                answers = await asyncio.gather(*posts, return_exceptions=True)
            for batch, answer in zip(group, answers, strict=True):
                if isinstance(answer, BaseException) or answer.status_code != 200:
                    continue  # not acknowledged: sent again
                assert answer.json()["rejected"] == [], answer.text
                for record in batch:
                    acknowledged[(record["org_id"], record["date"])] = record["quantity"]
                pending.remove(batch)
            if round_ in kills:
                await server.start()
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as api:
            for batch in pending:  # what the last kills left unacknowledged
                assert ok(await api.post("/v1/usage", json={"records": batch}))["rejected"] == []
                for record in batch:
                    acknowledged[(record["org_id"], record["date"])] = record["quantity"]

        expected = {
            (companies[org], day): quantity for (org, day), quantity in acknowledged.items()
        }
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as api:

            async def counted() -> dict[tuple[str, str], str] | Pending:
                window = {"from": (date.today() - timedelta(days=DAYS + 1)).isoformat(),
                          "to": (date.today() - timedelta(days=1)).isoformat()}  # fmt: skip
                rows = await get_all(api, "/v1/usage", module=MODULE, metric=METRIC, **window)
                got = {
                    (r["company_id"], r["date"]): r["quantity"] for r in rows if not r["estimated"]
                }
                if len(got) < len(expected):
                    return Pending(f"{len(got)} of {len(expected)} unit rows")
                return got

            got = await wait_for(counted, 120, "every acknowledged record in the unit table")
        from decimal import Decimal

        lost = [k for k in expected if k not in got]
        doubled = [k for k in expected if k in got and Decimal(got[k]) != Decimal(expected[k])]
        extra = [k for k in got if k not in expected]
        print(f"records {len(expected)}, lost {len(lost)}, doubled {len(doubled)}")
        assert (lost, doubled, extra) == ([], [], [])
    finally:
        await server.stop()
