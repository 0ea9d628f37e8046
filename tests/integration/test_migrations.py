"""Alembic on a fresh PostgreSQL database: every schema, models and migrations in step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.gateway import models as gateway
from services.ingest import models as ingest
from services.invoicing import models as invoicing
from services.mapping import models as mapping
from shared.migrations import ORDER, alembic_config, migrate_all

pytestmark = pytest.mark.integration

SERVICES: dict[str, tuple[str, MetaData]] = {
    "ingest": (ingest.SCHEMA, ingest.Base.metadata),
    "mapping": (mapping.SCHEMA, mapping.Base.metadata),
    "invoicing": (invoicing.SCHEMA, invoicing.Base.metadata),
    "gateway": (gateway.SCHEMA, gateway.Base.metadata),
}

SNAPSHOT = text(
    """
    SELECT table_schema, table_name, column_name, data_type, is_nullable,
           coalesce(column_default, '')
    FROM information_schema.columns
    WHERE table_schema = ANY(:schemas)
    UNION ALL
    SELECT schemaname, tablename, indexname, indexdef, '', ''
    FROM pg_indexes WHERE schemaname = ANY(:schemas)
    UNION ALL
    SELECT n.nspname, c.conname, c.contype::text, pg_get_constraintdef(c.oid), '', ''
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = ANY(:schemas)
    ORDER BY 1, 2, 3, 4
    """
)


@pytest.fixture(scope="module")
async def migrated(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate_all, fresh_database_url)
    engine = create_async_engine(fresh_database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


def _diff(connection: Connection, schema: str, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, kind, _parent: kind != "schema" or name == schema,
            "version_table_schema": schema,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, metadata))


def test_every_service_has_its_schema_in_the_migration_order() -> None:
    assert set(ORDER) == set(SERVICES)
    assert {schema for schema, _ in SERVICES.values()} == set(SERVICES)


async def test_migrate_all_creates_every_service_schema(migrated: AsyncEngine) -> None:
    async with migrated.connect() as conn:
        schemas = set(
            await conn.scalars(text("SELECT schema_name FROM information_schema.schemata"))
        )
        assert set(SERVICES) <= schemas
        for service, (schema, metadata) in SERVICES.items():
            tables = set(
                await conn.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
                )
            )
            expected = {t.name for t in metadata.sorted_tables} | {"alembic_version"}
            assert tables == expected, service
            assert {"outbox", "inbox"} <= tables, service


@pytest.mark.parametrize("service", list(SERVICES))
async def test_models_and_migrations_are_in_step(migrated: AsyncEngine, service: str) -> None:
    schema, metadata = SERVICES[service]
    async with migrated.connect() as conn:
        diff = await conn.run_sync(_diff, schema, metadata)
    assert diff == []


@pytest.mark.parametrize("service", list(SERVICES))
async def test_database_is_at_the_head_revision(
    migrated: AsyncEngine, fresh_database_url: str, service: str
) -> None:
    schema, _ = SERVICES[service]
    head = ScriptDirectory.from_config(alembic_config(service, fresh_database_url)).get_heads()
    async with migrated.connect() as conn:
        versions = list(
            await conn.scalars(text(f'SELECT version_num FROM "{schema}".alembic_version'))
        )
    assert len(head) == 1
    assert versions == head


async def test_migrating_twice_changes_nothing(
    migrated: AsyncEngine, fresh_database_url: str
) -> None:
    schemas = {"schemas": list(SERVICES)}
    async with migrated.connect() as conn:
        before = (await conn.execute(SNAPSHOT, schemas)).all()
    assert before  # the snapshot sees the tables

    await asyncio.to_thread(migrate_all, fresh_database_url)

    async with migrated.connect() as conn:
        after = (await conn.execute(SNAPSHOT, schemas)).all()
        for schema in SERVICES:
            count = await conn.scalar(text(f'SELECT count(*) FROM "{schema}".alembic_version'))
            assert count == 1, schema
    assert after == before
