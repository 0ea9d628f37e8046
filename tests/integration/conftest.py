"""Real PostgreSQL and Kafka for the integration tests: a fresh database per module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.settings import Settings

CONNECT_SECONDS = 20.0


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: Settings) -> str:
    return settings.kafka_bootstrap_servers


async def _admin_connection(url: str) -> asyncpg.Connection:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncio.wait_for(asyncpg.connect(dsn), CONNECT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {make_url(url).host}:{make_url(url).port} unreachable: {exc!r}")


@pytest.fixture(scope="module")
async def fresh_database_url(settings: Settings) -> AsyncIterator[str]:
    """An empty database ``icb_it_<hex>`` on the configured server, dropped afterwards."""
    name = f"icb_it_{uuid.uuid4().hex[:16]}"
    admin = await _admin_connection(settings.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        admin = await _admin_connection(settings.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
