"""API keys: ``icb_<id>_<secret>``; only an Argon2 hash of the secret is stored."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import ApiKeyRow, TenantRow
from shared.context import ROLES, CallerContext, Role

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
PREFIX = "icb"


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKeyRow
    key: str


def _split(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def issue_key(session: AsyncSession, tenant_id: str, name: str, role: Role) -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    row = ApiKeyRow(
        id=key_id,
        tenant_id=tenant_id,
        name=name,
        role=role,
        secret_hash=await asyncio.to_thread(_hasher.hash, secret),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row, f"{PREFIX}_{key_id}_{secret}")


class KeyVerifier:
    """Checks a presented key against its row on every request (so a revocation counts at
    once); the slow hash is verified once per key and process, then remembered by digest."""

    def __init__(self) -> None:
        self._verified: dict[str, str] = {}

    async def caller(self, session: AsyncSession, key: str) -> CallerContext | None:
        split = _split(key)
        if split is None:
            return None
        key_id, secret = split
        found = (
            await session.execute(
                select(ApiKeyRow, TenantRow.timezone)
                .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
                .where(ApiKeyRow.id == key_id)
            )
        ).first()
        if found is None:
            return None
        row, timezone = found
        if row.revoked_at is not None or row.role not in ROLES:
            return None
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if self._verified.get(key_id) != digest:
            try:
                # Argon2 is slow on purpose: off the event loop, so other requests go on.
                await asyncio.to_thread(_hasher.verify, row.secret_hash, secret)
            except (VerificationError, InvalidHashError):
                return None
            self._verified[key_id] = digest
        return CallerContext(row.tenant_id, timezone, cast(Role, row.role), row.id)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


async def create_tenant(session: AsyncSession, name: str, timezone: str = "UTC") -> IssuedKey:
    """A new tenant and its first admin key."""
    tenant = TenantRow(
        id=str(uuid.uuid4()),
        name=name,
        timezone=check_timezone(timezone),
        created_at=datetime.now(UTC),
    )
    session.add(tenant)
    await session.flush()
    return await issue_key(session, tenant.id, "initial admin key", "admin")
