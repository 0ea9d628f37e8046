"""The platform operator's commands on the gateway's database: tenants and their keys, on the
configured database or on an embedded data directory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import models
from services.gateway.keys import create_tenant, find_tenant, issue_key, list_tenants
from shared.clock import utc_now
from shared.context import Role
from shared.db import create_all, create_engine, session_factory, sqlite_url
from shared.settings import ServiceSettings


@contextlib.asynccontextmanager
async def gateway_transaction(
    settings: ServiceSettings, data_dir: Path | None
) -> AsyncIterator[AsyncSession]:
    """One transaction on the gateway's database; ``data_dir`` (embedded mode) must exist."""
    url = sqlite_url(data_dir, "gateway") if data_dir else settings.database_url
    engine = create_engine(url, models.SCHEMA)
    try:
        if data_dir:
            await create_all(engine, models.Base.metadata)
        async with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


async def create_tenant_with_key(
    settings: ServiceSettings, name: str, timezone: str, data_dir: Path | None
) -> str:
    """The tenant and its first admin key."""
    async with gateway_transaction(settings, data_dir) as session:
        issued = await create_tenant(session, name, timezone)
        tenant_id = issued.row.tenant_id
    print(f"tenant {tenant_id} ({name}, {timezone})")
    return issued.key


async def create_key(
    settings: ServiceSettings, tenant: str, role: Role, name: str, data_dir: Path | None
) -> str:
    """A new key of the tenant named or identified by ``tenant``: the operator's way back in
    when a tenant has lost its keys."""
    async with gateway_transaction(settings, data_dir) as session:
        row = await find_tenant(session, tenant)
        issued = await issue_key(session, row.id, name, role, utc_now())
        described = f"key {issued.row.id} ({role.value}) of tenant {row.id} ({row.name})"
    print(described)
    return issued.key


async def tenant_lines(settings: ServiceSettings, data_dir: Path | None) -> list[str]:
    """One line per tenant: id, time zone, active keys, name."""
    async with gateway_transaction(settings, data_dir) as session:
        tenants = await list_tenants(session)
        return [
            f"{t.id}  {t.timezone:<24}  {active:>3} active keys  {t.name}" for t, active in tenants
        ]
