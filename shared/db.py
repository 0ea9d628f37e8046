"""Database helpers: async engines on PostgreSQL (asyncpg) or SQLite (aiosqlite).

Each service owns one schema. On SQLite every service has a file of its own, and the schema
name is translated away so the same models and queries run unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Enum,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    event,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

# BIGINT identity on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


JsonDocument: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
"""A JSON column: ``jsonb`` on PostgreSQL, JSON text on SQLite; Python ``None`` is SQL NULL."""


def str_enum(words: type[StrEnum], length: int) -> Enum:
    """A StrEnum column kept as its values in a plain ``VARCHAR(length)``: no database enum
    type and no constraint, so a column that held the bare strings keeps its DDL."""
    return Enum(
        words,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING)


def sqlite_url(data_dir: Path, service: str) -> str:
    """The embedded mode's database of a service: one SQLite file each."""
    return f"sqlite+aiosqlite:///{data_dir / f'{service}.db'}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, schema: str, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url, execution_options={"schema_translate_map": {schema: None}}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # SQLite's own lower() folds ASCII only; PostgreSQL's folds every letter, and
            # case-insensitive searches must find "Ärzte" for "ärz" on both.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_of(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the dialect the session's engine speaks."""
    bind = session.get_bind()
    return str(bind.dialect.name)


def insert(table: Table, dialect: str) -> Any:
    """A dialect insert that knows ``on_conflict_do_nothing``/``on_conflict_do_update``."""
    module: Any = sqlite if dialect == "sqlite" else postgresql
    stmt: Insert = module.insert(table)
    return stmt


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Slices small enough for the bind-parameter limits of both databases."""
    return [items[i : i + size] for i in range(0, len(items), size)]


async def create_all(engine: AsyncEngine, metadata: MetaData) -> None:
    """Embedded mode builds its SQLite files from the models; PostgreSQL uses Alembic."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    on_conflict: Callable[[Any], Any] | None = None,
    chunk: int = 5000,
    returning: Sequence[ColumnElement[Any]] = (),
) -> list[Any]:
    """Inserts ``rows`` (dicts with the same keys), ``on_conflict`` adding the clause to a
    dialect insert (it may use ``stmt.excluded``); the ``returning`` columns of every row
    written are returned.

    On PostgreSQL each chunk is one ``INSERT ... SELECT FROM unnest(...)``, one array per
    column: one execution for thousands of rows, where a multi-row executemany makes one per
    row (the server's per-statement work then costs more than the writes). SQLite takes them
    as one executemany.
    """
    if not rows:
        return []
    dialect = dialect_of(session)

    def complete(stmt: Any) -> Any:
        stmt = on_conflict(stmt) if on_conflict else stmt
        return stmt.returning(*returning) if returning else stmt

    if dialect != "postgresql":
        result = await session.execute(complete(insert(table, dialect)), list(rows))
        return list(result) if returning else []
    names = list(rows[0])
    written: list[Any] = []
    for part in chunks(rows, chunk):
        source = unnested(
            "batch", [(n, table.c[n]) for n in names], [[r[n] for r in part] for n in names]
        )
        result = await session.execute(
            complete(insert(table, dialect).from_select(names, select(*source.c)))
        )
        if returning:
            written.extend(result)
    return written


def unnested(
    name: str, columns: Sequence[tuple[str, ColumnElement[Any]]], values: Sequence[list[Any]]
) -> Any:
    """A derived table ``name(<labels>)``: ``unnest`` over one array per ``(label, column)``,
    typed as the column (an enum travels as text, as PostgreSQL stores it), ``values[i]``
    holding the values of the i-th."""
    arrays = []
    for (label, column), column_values in zip(columns, values, strict=True):
        kind = column.type
        if isinstance(kind, Enum):
            kind = String(kind.length)
        arrays.append(bindparam(f"{name}_{label}", column_values, type_=postgresql.ARRAY(kind)))
    labels = [label for label, _ in columns]
    return func.unnest(*arrays).table_valued(*labels).render_derived(name=name)


def _unnested_keys(columns: Sequence[ColumnElement[Any]], keys: Sequence[tuple[Any, ...]]) -> Any:
    """The keys as a derived table ``keys(k0, k1, ...)``."""
    return unnested(
        "keys",
        [(f"k{i}", c) for i, c in enumerate(columns)],
        [[k[i] for k in keys] for i in range(len(columns))],
    )


def match_keys(
    dialect: str, columns: Sequence[ColumnElement[Any]], keys: Sequence[tuple[Any, ...]]
) -> ColumnElement[bool]:
    """A condition matching rows whose ``columns`` equal one of ``keys``.

    On PostgreSQL the keys travel as one array per column and are joined through ``unnest``:
    one small statement whatever the number of keys (a long ``IN`` list of row values makes
    the planner crawl). SQLite takes the row-value ``IN`` list.
    """
    if dialect != "postgresql":
        return tuple_(*columns).in_(keys)
    derived = _unnested_keys(columns, keys)
    return and_(*(c == derived.c[f"k{i}"] for i, c in enumerate(columns)))


def rows_by_keys(
    dialect: str,
    key_columns: Sequence[ColumnElement[Any]],
    keys: Sequence[tuple[Any, ...]],
    columns: Sequence[ColumnElement[Any]],
    *where: ColumnElement[bool],
    for_update: bool = False,
) -> Select[Any]:
    """The ``columns`` of the rows whose ``key_columns`` equal one of ``keys`` (and ``where``).

    On PostgreSQL every key is looked up on its own through a ``LATERAL`` subquery, so each
    takes the index whatever the planner believes of the table. A join of the unnested keys
    lets it hash every row of the tenant when the statistics are stale, as they are while a
    table fills: each batch then reads the whole table. ``for_update`` locks the rows found.
    """
    if dialect != "postgresql":
        return select(*columns).where(*where, tuple_(*key_columns).in_(keys))
    derived = _unnested_keys(key_columns, keys)
    inner = select(*columns).where(
        *where, *(c == derived.c[f"k{i}"] for i, c in enumerate(key_columns))
    )
    if for_update:
        inner = inner.with_for_update()
    found = inner.lateral("found")
    return select(*found.c).select_from(derived.join(found, true()))
