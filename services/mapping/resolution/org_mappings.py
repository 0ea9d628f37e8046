"""Org mappings made, changed or removed: the one path for manual and automatic mapping.

Set-based, whatever the number of orgs: the mapping rows are written by one upsert (and one
delete), every change gets its ``mapping.changed`` event and its audit row, and all usage of
the orgs is re-resolved (``reresolution``: by one ``UPDATE ... RETURNING`` per chunk of orgs,
published as ``usage.resolved`` events of that chunk), all in the caller's transaction; or,
when that is too much usage for one request, queued in it for the service's background loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping import audit
from services.mapping.models import OrgMappingRow
from services.mapping.resolution import reresolution
from services.mapping.resolution.reresolution import ORG_CHUNK
from services.mapping.resolution.rules import OrgKey, OrgTarget
from services.mapping.resolution.usage import count_by_org, dialect_name
from shared.db import chunks, insert, match_keys
from shared.events import MappingChanged
from shared.problems import NotFound
from shared.runtime import EventRuntime

_mappings = cast(Table, OrgMappingRow.__table__)


@dataclass(frozen=True)
class OrgChange:
    """Map ``(module, org_id)`` to ``target``; ``target`` None removes the mapping."""

    module: str
    org_id: str
    target: OrgTarget | None

    @property
    def key(self) -> OrgKey:
        return (self.module, self.org_id)


@dataclass(frozen=True)
class OrgChangeResult:
    module: str
    org_id: str
    before: OrgTarget | None
    after: OrgTarget | None
    updated_at: datetime
    reresolved: int
    queued: bool = False
    """Whether the org's usage is re-resolved in the background rather than already."""


def _state(target: OrgTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"company_id": target.company_id, "excluded": target.excluded}


def _of_keys(session: AsyncSession, keys: Sequence[OrgKey]) -> Any:
    c = _mappings.c
    return match_keys(dialect_name(session), [c.module, c.org_id], keys)


async def _current(
    session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]
) -> dict[OrgKey, OrgTarget]:
    c = _mappings.c
    found: dict[OrgKey, OrgTarget] = {}
    for part in chunks(list(keys), ORG_CHUNK):
        query = select(c.module, c.org_id, c.company_id, c.excluded).where(
            c.tenant_id == tenant_id, _of_keys(session, part)
        )
        for module, org_id, company_id, excluded in await session.execute(query):
            found[(module, org_id)] = OrgTarget(company_id, excluded)
    return found


async def _write(
    session: AsyncSession,
    tenant_id: str,
    actor: str,
    now: datetime,
    changes: Sequence[OrgChange],
) -> None:
    """One upsert of every new target and one delete of every removed mapping."""
    removed = [c.key for c in changes if c.target is None]
    for part in chunks(removed, ORG_CHUNK):
        await session.execute(
            delete(_mappings).where(_mappings.c.tenant_id == tenant_id, _of_keys(session, part))
        )
    rows = [
        {
            "tenant_id": tenant_id,
            "module": c.module,
            "org_id": c.org_id,
            "company_id": c.target.company_id,
            "excluded": c.target.excluded,
            "updated_at": now,
            "updated_by": actor,
        }
        for c in changes
        if c.target is not None
    ]
    if not rows:
        return
    stmt = insert(_mappings, dialect_name(session))
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "module", "org_id"],
        set_={
            name: stmt.excluded[name]
            for name in ("company_id", "excluded", "updated_at", "updated_by")
        },
    )
    await session.execute(stmt, rows)


async def change_org_mappings(
    runtime: EventRuntime,
    session: AsyncSession,
    tenant_id: str,
    actor: str,
    changes: Sequence[OrgChange],
    action: audit.Action,
) -> list[OrgChangeResult]:
    """Applies the changes (one per org); removing a mapping that does not exist is a 404."""
    now = datetime.now(UTC)
    befores = await _current(session, tenant_id, [c.key for c in changes])
    for change in changes:
        if change.target is None and change.key not in befores:
            raise NotFound(f"No mapping for {change.module}/{change.org_id}.")
    await _write(session, tenant_id, actor, now, changes)
    keys = [c.key for c in changes]
    counts = await count_by_org(session, tenant_id, keys)
    queued = sum(counts.values()) > reresolution.INLINE_RECORDS
    if queued:
        await reresolution.enqueue(session, tenant_id, keys, now)
    else:
        counts = await reresolution.reresolve_orgs(runtime, session, tenant_id, keys)
    await runtime.outbox.add(
        session,
        tenant_id,
        *(
            MappingChanged(
                kind="org",
                module=c.module,
                org_id=c.org_id,
                company_id=c.target.company_id if c.target else None,
                excluded=c.target.excluded if c.target else False,
                reresolved=counts[c.key],
                actor=actor,
            )
            for c in changes
        ),
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        *(
            audit.Change(
                action,
                c.module,
                org_id=c.org_id,
                before=_state(befores.get(c.key)),
                after=_state(c.target),
            )
            for c in changes
        ),
    )
    return [
        OrgChangeResult(
            c.module, c.org_id, befores.get(c.key), c.target, now, counts[c.key], queued
        )
        for c in changes
    ]
