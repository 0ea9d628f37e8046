"""API keys: ``icb_<id>_<secret>``; only an Argon2 hash of the secret is stored, and a key
is checked against its row on every request."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import ApiKeyRow, TenantRow
from shared.context import CallerContext

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
PREFIX = "icb"


@dataclass(frozen=True)
class MintedKey:
    id: str
    secret_hash: str
    key: str
    """The whole key as the caller sends it; never stored."""


async def mint_key() -> MintedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    # Argon2 is slow on purpose: off the event loop, so other requests go on.
    secret_hash = await asyncio.to_thread(_hasher.hash, secret)
    return MintedKey(key_id, secret_hash, f"{PREFIX}_{key_id}_{secret}")


def key_prefix(key: str) -> str | None:
    """The key id a presented key names (its public part), if it has the key's form."""
    split = _split(key)
    return None if split is None else split[0]


@dataclass(frozen=True)
class Verdict:
    """A presented key's check: the caller when it is valid; otherwise the tenant of the key
    it names, if that key exists (so the failure goes into that tenant's audit)."""

    caller: CallerContext | None
    tenant_id: str | None = None
    key_id: str | None = None


def _split(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyVerifier:
    """Checks a presented key against its row on every request (so a revocation counts at
    once); the slow hash is verified once per key and process, then remembered by digest."""

    def __init__(self) -> None:
        self._verified: dict[str, str] = {}

    async def caller(self, session: AsyncSession, key: str) -> CallerContext | None:
        return (await self.check(session, key)).caller

    async def check(self, session: AsyncSession, key: str) -> Verdict:
        split = _split(key)
        if split is None:
            return Verdict(None)
        key_id, secret = split
        found = (
            await session.execute(
                select(ApiKeyRow, TenantRow.timezone)
                .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
                .where(ApiKeyRow.id == key_id)
            )
        ).first()
        if found is None:
            return Verdict(None)
        row, timezone = found
        refused = Verdict(None, row.tenant_id, row.id)
        if row.revoked_at is not None:
            return refused
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if self._verified.get(key_id) != digest:
            try:
                await asyncio.to_thread(_hasher.verify, row.secret_hash, secret)
            except (VerificationError, InvalidHashError):
                return refused
            self._verified[key_id] = digest
        return Verdict(CallerContext(row.tenant_id, timezone, row.role, row.id))
