"""A tenant's matcher, kept between requests while what it was built from is unchanged.

Building a ``Matcher`` normalises and indexes every company name and every mapped org name
(about 0.3 s of CPU at 10,000 companies), yet the Unmapped queue and the insights ask for one
on every page. A cached matcher is used only while a cheap fingerprint of its inputs, read in
the caller's own session, is what it was built from: the number of companies, their latest
``updated_at`` and the length of all their names (a new or renamed company); the number of
orgs mapped to a company and the latest mapping change (a new, changed or removed mapping,
whose org name is evidence). Read from the database rather than told by the writers, so a
change made by any replica or process is seen at once. A mapped org renamed in later usage
changes no fingerprint; ``MAX_AGE_S`` bounds how long its old name can serve as evidence.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.matching.candidates import load_companies
from services.mapping.matching.scoring import Matcher
from services.mapping.models import CompanyRow, OrgMappingRow

MAX_AGE_S = 300.0
MAX_TENANTS = 32


@dataclass(frozen=True)
class _Entry:
    fingerprint: tuple[Any, ...]
    matcher: Matcher
    built: float


class MatcherCache:
    """The latest matcher per database and tenant, the least recently used dropped first."""

    def __init__(self, max_tenants: int = MAX_TENANTS, max_age_s: float = MAX_AGE_S) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._max_tenants = max_tenants
        self._max_age_s = max_age_s
        self.builds = 0
        """How many matchers were built (for tests and measurements)."""

    async def matcher(self, session: AsyncSession, tenant_id: str) -> Matcher:
        key = (str(session.get_bind().engine.url), tenant_id)
        fingerprint = await _fingerprint(session, tenant_id)
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.fingerprint == fingerprint
            and time.monotonic() - entry.built < self._max_age_s
        ):
            self._entries.move_to_end(key)
            return entry.matcher
        companies = await load_companies(session, tenant_id)
        matcher = await asyncio.to_thread(Matcher, companies)
        self.builds += 1
        self._entries[key] = _Entry(fingerprint, matcher, time.monotonic())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_tenants:
            self._entries.popitem(last=False)
        return matcher


async def _fingerprint(session: AsyncSession, tenant_id: str) -> tuple[Any, ...]:
    companies = CompanyRow.tenant_id == tenant_id
    mappings = OrgMappingRow.tenant_id == tenant_id
    mapped = mappings & OrgMappingRow.company_id.is_not(None) & ~OrgMappingRow.excluded
    row = (
        await session.execute(
            select(
                select(func.count()).select_from(CompanyRow).where(companies).scalar_subquery(),
                select(func.max(CompanyRow.updated_at)).where(companies).scalar_subquery(),
                select(func.sum(func.length(CompanyRow.name))).where(companies).scalar_subquery(),
                select(func.count()).select_from(OrgMappingRow).where(mapped).scalar_subquery(),
                select(func.max(OrgMappingRow.updated_at)).where(mappings).scalar_subquery(),
            )
        )
    ).one()
    return tuple(row)


MATCHERS = MatcherCache()
"""The process's cache: every request of the mapping service shares it."""


async def load_matcher(session: AsyncSession, tenant_id: str) -> Matcher:
    """The tenant's matcher as of the session's view of its companies and mappings."""
    return await MATCHERS.matcher(session, tenant_id)
