"""PostgreSQL for tests: the server of ``ICB_DATABASE_URL``, unreachable = a loud failure.

``TemplateDatabases`` migrates one database once (with every service's Alembic history, as
the full stack runs) and hands each test a copy of it (``CREATE DATABASE ... TEMPLATE``),
dropped afterwards: a migrated, isolated database in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.migrations import migrate_all

CONNECT_SECONDS = 20.0


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def admin_connection(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the server of ``url``; fails the test if unreachable."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncio.wait_for(asyncpg.connect(dsn), CONNECT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {parsed.host}:{parsed.port} unreachable: {exc!r}")


async def _execute(url: str, statement: str) -> None:
    admin = await admin_connection(url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


class TemplateDatabases:
    """Copies are made one ahead and dropped in the background, so that a test waits for
    neither: the server works on them while the previous test runs."""

    def __init__(self, server_url: str, prefix: str = "icb_test") -> None:
        self.server_url = server_url
        self._prefix = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self._template: str | None = None
        self._lock = asyncio.Lock()
        self._next: asyncio.Task[str] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def _migrated_template(self) -> str:
        async with self._lock:
            if self._template is None:
                name = f"{self._prefix}_template"
                await _execute(self.server_url, f'CREATE DATABASE "{name}"')
                self._template = name
                await asyncio.to_thread(migrate_all, with_database(self.server_url, name))
            return self._template

    async def _copy(self) -> str:
        template = await self._migrated_template()
        name = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        await _execute(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def _drop(self, name: str) -> None:
        await _execute(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.asynccontextmanager
    async def fresh(self) -> AsyncIterator[str]:
        """The URL of a new copy of the migrated template, dropped after the block ends."""
        ready, self._next = self._next, None
        name = await ready if ready is not None else await self._copy()
        self._next = asyncio.create_task(self._copy())
        try:
            yield with_database(self.server_url, name)
        finally:
            dropping = asyncio.create_task(self._drop(name))
            self._pending.add(dropping)
            dropping.add_done_callback(self._pending.discard)

    async def drop(self) -> None:
        """Drops what is left: the copy made ahead, copies still being dropped, the
        template."""
        if self._next is not None:
            await self._drop(await self._next)
            self._next = None
        await asyncio.gather(*self._pending)
        if self._template is not None:
            await self._drop(self._template)
            self._template = None
