"""Secrets the chaos run hands the stack (an ingest key, a module credential, a webhook
signing secret, the admin keys), and the check that none of them appears in anything the
stack wrote: service logs, the broker's and the database server's logs, and the audit."""

from __future__ import annotations

import asyncio
import secrets as random_secrets
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.chaos.load import Client

AUDITS = (
    "SELECT t::text FROM gateway.audit t",
    "SELECT t::text FROM mapping.mapping_audit t",
)


@dataclass
class Planted:
    values: dict[str, str] = field(default_factory=dict)
    """what each secret is -> the secret"""


async def plant(client: Client, planted: Planted) -> str:
    """Creates an ingest key, a module connection with a credential and a webhook endpoint;
    answers the ingest key (the chaos client posts usage with it)."""
    key = await client.json("POST", "/v1/api-keys", {"name": "chaos ingest", "role": "ingest"})
    planted.values["ingest API key"] = key["key"]
    token = f"vendor-token-{random_secrets.token_hex(16)}"
    await client.json(
        "PUT",
        "/v1/modules/datto_rmm/connection",
        {"base_url": "http://127.0.0.1:9/", "credentials": {"token": token}, "enabled": False},
    )
    planted.values["module credential"] = token
    hook = await client.json(
        "POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["invoice.voided"]}
    )
    planted.values["webhook secret"] = hook["secret"]
    return str(key["key"])


def _in_files(files: list[Path], planted: Planted) -> list[str]:
    found: list[str] = []
    for path in files:
        text = path.read_bytes().decode(errors="replace")
        found.extend(f"{what} in {path}" for what, value in planted.values.items() if value in text)
    return found


async def leaks(files: list[Path], dsn: str, planted: Planted) -> list[str]:
    """Where a planted secret appears in ``files`` or the audit tables (empty: nowhere)."""
    found = await asyncio.to_thread(_in_files, files, planted)
    conn = await asyncpg.connect(dsn)
    try:
        for query in AUDITS:
            text = "\n".join(r[0] for r in await conn.fetch(query))
            found.extend(
                f"{what} in {query.split()[-2]}"
                for what, value in planted.values.items()
                if value in text
            )
    finally:
        await conn.close()
    return found
