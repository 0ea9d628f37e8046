"""A private PostgreSQL and Kafka for the chaos run (``deploy/postgres.sh`` and
``deploy/kafka.sh`` on ports and a run directory of their own), so restarting them never
touches the shared instances other work relies on."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


@dataclass(frozen=True)
class Infra:
    run_dir: Path
    pg_port: int = 5533
    kafka_port: int = 9192
    controller_port: int = 9193

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://icb:icb@127.0.0.1:{self.pg_port}/icb"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ICB_RUN_DIR": str(self.run_dir),
            "ICB_PG_PORT": str(self.pg_port),
            "ICB_KAFKA_PORT": str(self.kafka_port),
            "ICB_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "PYTHON": os.environ.get("PYTHON", str(REPO / ".venv" / "bin" / "python")),
        }

    def logs(self) -> list[Path]:
        """The broker's and the database server's logs (the secrets check reads them)."""
        folders = (self.run_dir / "kafka", self.run_dir / "pg")
        return [p for d in folders for p in d.glob("*.log") if p.is_file()]

    async def _script(self, script: str, action: str) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            str(DEPLOY / script),
            action,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{script} {action} failed:\n{out.decode(errors='replace')}")

    async def up(self) -> None:
        await self._script("postgres.sh", "start")
        await self._script("kafka.sh", "start")

    async def down(self) -> None:
        await self._script("kafka.sh", "stop")
        await self._script("postgres.sh", "stop")

    async def stop_postgres(self) -> None:
        await self._script("postgres.sh", "stop")

    async def start_postgres(self) -> None:
        await self._script("postgres.sh", "start")

    async def stop_kafka(self) -> None:
        await self._script("kafka.sh", "stop")

    async def start_kafka(self) -> None:
        await self._script("kafka.sh", "start")
