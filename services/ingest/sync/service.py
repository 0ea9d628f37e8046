"""The daily pull's use cases: a module's connection, "sync now", and the sync history.

Credentials go in and never come out: a ``Connection`` names them, never shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import ModuleConnectionRow, ModuleSyncRow
from services.ingest.sync import repository
from services.ingest.sync.check import credential_problem, try_connection
from services.ingest.sync.credentials import CredentialCipher
from services.ingest.sync.runner import NoConnection, Syncer
from services.ingest.sync.schedule import as_utc
from shared.pagination import Page, PageParams, decode_cursor, encode_cursor
from shared.problems import NotFound, ServiceUnavailable, invalid


@dataclass(frozen=True)
class Connection:
    module: str
    base_url: str
    credential_names: tuple[str, ...]
    timezone: str
    sync_time: str
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, row: ModuleConnectionRow, cipher: CredentialCipher | None, default_sync_time: str
    ) -> Connection:
        names = tuple(sorted(cipher.open(row.credentials))) if cipher else ()
        return cls(
            module=row.module,
            base_url=row.base_url,
            credential_names=names,
            timezone=row.timezone,
            sync_time=row.sync_time or default_sync_time,
            enabled=row.enabled,
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
        )


@dataclass(frozen=True)
class ConnectionChange:
    """A connection as the tenant sends it; ``credentials`` None keeps the stored ones."""

    base_url: str
    credentials: Mapping[str, str] | None
    sync_time: str | None
    enabled: bool


def _missing(module: str) -> NotFound:
    return NotFound(f"The module {module} has no connection.")


@dataclass(frozen=True)
class ConnectionCheck:
    """A connection the module's API accepted (the answer of a test that stored nothing)."""

    module: str
    base_url: str
    credential_names: tuple[str, ...]
    accepted: bool = True


def _cipher(syncer: Syncer) -> CredentialCipher:
    if syncer.cipher is None:
        raise ServiceUnavailable("Connections need ICB_CONNECTION_KEY to be configured.")
    return syncer.cipher


async def _credentials(
    syncer: Syncer, tenant_id: str, module: str, change: ConnectionChange
) -> dict[str, str]:
    """The credentials the change carries, else the stored ones; checked against the
    catalog's names for the module."""
    if change.credentials is not None:
        credentials = dict(change.credentials)
    else:
        async with syncer.runtime.sessions() as session:
            existing = await repository.get_connection(session, tenant_id, module)
        if existing is None:
            raise invalid(["body", "credentials"], "required for a new connection")
        credentials = _cipher(syncer).open(existing.credentials)
    problem = credential_problem(module, credentials)
    if problem is not None:
        raise problem
    return credentials


async def save_connection(
    syncer: Syncer,
    tenant_id: str,
    timezone: str,
    module: str,
    change: ConnectionChange,
    today: date,
) -> Connection:
    """Creates or replaces the connection; the pull runs daily at ``sync_time`` in the
    tenant's time zone. An enabled connection is stored only once the module's API accepted
    it (disabling needs no answer from the module); the request goes out with no database
    transaction open."""
    cipher = _cipher(syncer)
    credentials = await _credentials(syncer, tenant_id, module, change)
    if change.enabled:
        await try_connection(syncer, module, change.base_url, credentials, _latest_day(today))
    data = repository.ConnectionIn(
        base_url=change.base_url,
        sealed_credentials=cipher.seal(credentials),
        timezone=timezone,
        sync_time=change.sync_time,
        enabled=change.enabled,
    )
    async with syncer.runtime.transaction() as session:
        row, _ = await repository.put_connection(session, tenant_id, module, data, syncer.clock())
    return Connection.of(row, cipher, syncer.settings.sync_time)


async def check_connection(
    syncer: Syncer, tenant_id: str, module: str, change: ConnectionChange, today: date
) -> ConnectionCheck:
    """The check of ``save_connection`` without storing anything; absent credentials are the
    stored ones (to try a stored token against a new URL)."""
    credentials = await _credentials(syncer, tenant_id, module, change)
    await try_connection(syncer, module, change.base_url, credentials, _latest_day(today))
    return ConnectionCheck(module, change.base_url, tuple(sorted(credentials)))


def _latest_day(today: date) -> date:
    """The latest day a sync pulls (the default of "sync now", the day a check asks for)."""
    return today - timedelta(days=1)


async def get_connection(
    session: AsyncSession,
    tenant_id: str,
    module: str,
    *,
    cipher: CredentialCipher | None,
    default_sync_time: str,
) -> Connection:
    row = await repository.get_connection(session, tenant_id, module)
    if row is None:
        raise _missing(module)
    return Connection.of(row, cipher, default_sync_time)


async def delete_connection(session: AsyncSession, tenant_id: str, module: str) -> None:
    """Stops the daily pull; usage already received and the sync history stay."""
    if not await repository.delete_connection(session, tenant_id, module):
        raise _missing(module)


async def sync_now(
    syncer: Syncer,
    tenant_id: str,
    module: str,
    day: date | None,
    today: date,
    max_age_days: int,
) -> ModuleSyncRow:
    """Pulls one day now (default: yesterday) and answers how it went. The syncer commits
    each step itself: the attempt must be on record before the module is asked."""
    day = day or _latest_day(today)
    if day > today:
        raise invalid(["body", "date"], f"{day} is in the future for the tenant")
    oldest = today - timedelta(days=max_age_days)
    if day < oldest:
        raise invalid(["body", "date"], f"{day} is older than {oldest}")
    try:
        return await syncer.sync_now(tenant_id, module, day)
    except NoConnection as exc:
        raise _missing(module) from exc


def _after(cursor: str) -> tuple[dt.date, int]:
    values = decode_cursor(cursor)
    try:
        day, sync_id = values
        return dt.date.fromisoformat(day), int(sync_id)
    except (TypeError, ValueError) as exc:
        raise invalid(["query", "cursor"], "not a cursor this API issued") from exc


async def list_syncs(
    session: AsyncSession,
    tenant_id: str,
    module: str,
    paging: PageParams,
    *,
    start: date | None,
    end: date | None,
) -> Page[ModuleSyncRow]:
    """The sync history of the module, latest day first; ``start``/``end`` bound the day."""
    after = _after(paging.cursor) if paging.cursor else None
    rows = await repository.list_syncs(
        session, tenant_id, module, start=start, end=end, after=after, limit=paging.limit + 1
    )
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    last = rows[-1] if more and rows else None
    return Page(
        items=list(rows),
        next_cursor=encode_cursor([last.day.isoformat(), last.id]) if last else None,
    )
