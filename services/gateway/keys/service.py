"""The keys' use cases: tenants with their first key, and issuing, listing and revoking a
tenant's keys. The caller's transaction commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.keys.api_key import mint_key
from services.gateway.models import ApiKeyRow, TenantRow
from shared.clock import utc_now
from shared.context import Role
from shared.pagination import Page, PageParams, paginate
from shared.problems import Conflict, NotFound


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


async def revoke_key(
    session: AsyncSession, tenant_id: str, key_id: str, now: datetime
) -> tuple[ApiKeyRow, bool]:
    """Takes effect at once: every request looks its key up. Revoking twice keeps the first
    time (answers False: nothing changed). The tenant's last active admin key stays: without
    it nobody could manage keys."""
    # The tenant row is locked first, so two revocations of its last two admin keys take
    # turns and the second sees the first (PostgreSQL; SQLite has one writer anyway).
    await session.execute(select(TenantRow.id).where(TenantRow.id == tenant_id).with_for_update())
    row = await session.get(ApiKeyRow, key_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"No API key {key_id}.")
    if row.revoked_at is None:
        if row.role == Role.ADMIN and await active_admins(session, tenant_id) <= 1:
            raise Conflict(
                f"The API key {key_id} is the tenant's last active admin key; create another "
                "admin key before revoking this one."
            )
        row.revoked_at = now
        await session.flush()
        return row, True
    return row, False


async def active_admins(session: AsyncSession, tenant_id: str) -> int:
    query = select(func.count()).where(
        ApiKeyRow.tenant_id == tenant_id,
        ApiKeyRow.role == Role.ADMIN,
        ApiKeyRow.revoked_at.is_(None),
    )
    return int(await session.scalar(query) or 0)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


async def find_tenant(session: AsyncSession, name_or_id: str) -> TenantRow:
    """The tenant with this id, else the one with this name; a name two tenants share is
    refused (``LookupError``), as is one no tenant has."""
    tenant = await session.get(TenantRow, name_or_id)
    if tenant is not None:
        return tenant
    named = list(await session.scalars(select(TenantRow).where(TenantRow.name == name_or_id)))
    if not named:
        raise LookupError(f"no tenant has the id or name {name_or_id!r}")
    if len(named) > 1:
        ids = ", ".join(sorted(t.id for t in named))
        raise LookupError(f"several tenants are named {name_or_id!r} ({ids}); give the id")
    return named[0]


async def list_tenants(session: AsyncSession) -> list[tuple[TenantRow, int]]:
    """Every tenant, oldest first, with its number of active keys."""
    active = (
        select(func.count())
        .where(ApiKeyRow.tenant_id == TenantRow.id, ApiKeyRow.revoked_at.is_(None))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(TenantRow, active).order_by(TenantRow.created_at, TenantRow.id)
    )
    return [(tenant, int(count)) for tenant, count in rows.all()]


async def create_tenant(session: AsyncSession, name: str, timezone: str = "UTC") -> IssuedKey:
    """A new tenant and its first admin key (the launcher's use case, not the API's)."""
    now = utc_now()
    tenant = TenantRow(
        id=str(uuid.uuid4()), name=name, timezone=check_timezone(timezone), created_at=now
    )
    session.add(tenant)
    await session.flush()
    return await issue_key(session, tenant.id, "initial admin key", Role.ADMIN, now)
