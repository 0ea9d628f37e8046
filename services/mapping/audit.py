"""The audit of mapping changes, written in the transaction of the change itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.mapping.models import MappingAuditRow

Action = Literal[
    "org_mapping.put",
    "org_mapping.delete",
    "org_mapping.auto_map",
    "service_mapping.put",
    "service_mapping.delete",
]


@dataclass(frozen=True)
class Change:
    """What changed: an org mapping (``org_id``) or a service mapping (``metric``, with
    ``company_id`` for a company override); ``before``/``after`` None where there is none."""

    action: Action
    module: str
    org_id: str | None = None
    metric: str | None = None
    company_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


async def record(
    session: AsyncSession, tenant_id: str, actor: str | None, *changes: Change
) -> None:
    """One row per change that changed something, in one bulk insert."""
    at = datetime.now(UTC)
    rows = [
        {
            "tenant_id": tenant_id,
            "at": at,
            "actor": actor,
            "action": c.action,
            "module": c.module,
            "org_id": c.org_id,
            "metric": c.metric,
            "company_id": c.company_id,
            "before": _json(c.before),
            "after": _json(c.after),
        }
        for c in changes
        if c.before != c.after
    ]
    if rows:
        await session.execute(insert(MappingAuditRow), rows)
