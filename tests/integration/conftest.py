"""Real PostgreSQL and Kafka for the integration tests: a fresh database per module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.settings import ServiceSettings
from tests.support.postgres import admin_connection, with_database


@pytest.fixture(scope="session")
def settings() -> ServiceSettings:
    return ServiceSettings()


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: ServiceSettings) -> str:
    return settings.kafka_bootstrap_servers


@pytest.fixture(scope="module")
async def fresh_database_url(settings: ServiceSettings) -> AsyncIterator[str]:
    """An empty database ``icb_it_<hex>`` on the configured server, dropped afterwards."""
    name = f"icb_it_{uuid.uuid4().hex[:16]}"
    admin = await admin_connection(settings.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(settings.database_url, name)
    finally:
        admin = await admin_connection(settings.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
