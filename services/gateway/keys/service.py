"""The keys' use cases: tenants with their first key, and issuing, listing and revoking a
tenant's keys. The caller's transaction commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.keys.api_key import mint_key
from services.gateway.models import ApiKeyRow, TenantRow
from shared.clock import utc_now
from shared.context import Role
from shared.pagination import Page, PageParams, paginate
from shared.problems import NotFound


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKeyRow
    key: str


async def issue_key(
    session: AsyncSession, tenant_id: str, name: str, role: Role, now: datetime
) -> IssuedKey:
    """A new key of the tenant; ``key`` is the secret, shown once and never stored."""
    minted = await mint_key()
    row = ApiKeyRow(
        id=minted.id,
        tenant_id=tenant_id,
        name=name,
        role=role,
        secret_hash=minted.secret_hash,
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row, minted.key)


async def list_keys(session: AsyncSession, tenant_id: str, paging: PageParams) -> Page[ApiKeyRow]:
    """The tenant's keys, revoked ones included, in id order."""
    query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)
    return await paginate(
        session, query, [ApiKeyRow.id.expression], paging, lambda r: r[0], lambda r: (r[0].id,)
    )


async def revoke_key(session: AsyncSession, tenant_id: str, key_id: str, now: datetime) -> None:
    """Takes effect at once: every request looks its key up. Revoking twice keeps the first
    time."""
    row = await session.get(ApiKeyRow, key_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"No API key {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = now


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


async def create_tenant(session: AsyncSession, name: str, timezone: str = "UTC") -> IssuedKey:
    """A new tenant and its first admin key (the launcher's use case, not the API's)."""
    now = utc_now()
    tenant = TenantRow(
        id=str(uuid.uuid4()), name=name, timezone=check_timezone(timezone), created_at=now
    )
    session.add(tenant)
    await session.flush()
    return await issue_key(session, tenant.id, "initial admin key", Role.ADMIN, now)
