"""Org mappings made, changed or removed: the one path for manual and automatic mapping.

Each change re-resolves all usage of the org, publishes the new resolutions and a
``mapping.changed`` event, and is audited, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping import audit
from services.mapping.consumer import publish_resolved
from services.mapping.models import OrgMappingRow
from services.mapping.resolution import OrgKey, OrgTarget
from services.mapping.usage import KEY_CHUNK, dialect_name, of_orgs, reresolve
from shared.db import chunks, match_keys
from shared.events import MappingChanged
from shared.problems import NotFound
from shared.runtime import ServiceRuntime

# Orgs per re-resolution statement: two bind parameters each.
ORG_CHUNK = KEY_CHUNK // 4


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


def _state(target: OrgTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"company_id": target.company_id, "excluded": target.excluded}


async def _current(
    session: AsyncSession, tenant_id: str, keys: Sequence[OrgKey]
) -> dict[OrgKey, OrgMappingRow]:
    rows: dict[OrgKey, OrgMappingRow] = {}
    for part in chunks(list(keys), ORG_CHUNK):
        found = await session.scalars(
            select(OrgMappingRow).where(
                OrgMappingRow.tenant_id == tenant_id,
                match_keys(
                    dialect_name(session),
                    [OrgMappingRow.module.expression, OrgMappingRow.org_id.expression],
                    part,
                ),
            )
        )
        rows.update(((r.module, r.org_id), r) for r in found)
    return rows


async def change_org_mappings(
    runtime: ServiceRuntime,
    session: AsyncSession,
    tenant_id: str,
    actor: str,
    changes: Sequence[OrgChange],
    action: audit.Action,
) -> list[OrgChangeResult]:
    """Applies the changes (one per org); removing a mapping that does not exist is a 404."""
    now = datetime.now(UTC)
    rows = await _current(session, tenant_id, [c.key for c in changes])
    befores: dict[OrgKey, OrgTarget | None] = {}
    for change in changes:
        row = rows.get(change.key)
        befores[change.key] = None if row is None else OrgTarget(row.company_id, row.excluded)
        if change.target is None:
            if row is None:
                raise NotFound(f"No mapping for {change.module}/{change.org_id}.")
            await session.delete(row)
            continue
        if row is None:
            row = OrgMappingRow(
                tenant_id=tenant_id, module=change.module, org_id=change.org_id, excluded=False
            )
            session.add(row)
        row.company_id, row.excluded = change.target.company_id, change.target.excluded
        row.updated_at, row.updated_by = now, actor
    await session.flush()
    counts: dict[OrgKey, int] = dict.fromkeys(befores, 0)
    for part in chunks(list(befores), ORG_CHUNK):
        resolved = await reresolve(session, tenant_id, of_orgs(part))
        await publish_resolved(runtime, session, tenant_id, resolved)
        for r in resolved:
            counts[(r.module, r.org_id)] += 1
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
    audit.record(
        session,
        tenant_id,
        actor,
        *(
            audit.Change(
                action,
                c.module,
                org_id=c.org_id,
                before=_state(befores[c.key]),
                after=_state(c.target),
            )
            for c in changes
        ),
    )
    return [
        OrgChangeResult(c.module, c.org_id, befores[c.key], c.target, now, counts[c.key])
        for c in changes
    ]
