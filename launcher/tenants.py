"""Creating a tenant from the command line: the tenant row and its first admin key."""

from __future__ import annotations

from pathlib import Path

from services.gateway import models
from services.gateway.keys import create_tenant
from shared.db import create_all, create_engine, session_factory, sqlite_url
from shared.settings import ServiceSettings


async def create_tenant_with_key(
    settings: ServiceSettings, name: str, timezone: str, data_dir: Path | None
) -> str:
    """The tenant and its first admin key; ``data_dir`` (embedded mode) must exist."""
    url = sqlite_url(data_dir, "gateway") if data_dir else settings.database_url
    engine = create_engine(url, models.SCHEMA)
    try:
        if data_dir:
            await create_all(engine, models.Base.metadata)
        async with session_factory(engine)() as session, session.begin():
            issued = await create_tenant(session, name, timezone)
            tenant_id = issued.row.tenant_id
        print(f"tenant {tenant_id} ({name}, {timezone})")
        return issued.key
    finally:
        await engine.dispose()
