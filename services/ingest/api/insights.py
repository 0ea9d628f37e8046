"""Ingest's insights (the gateway merges them into ``GET /v1/insights``): failed syncs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.ingest.api.deps import Caller, Paging, Runtime
from services.ingest.sync.failures import FailedModule, failed_syncs
from shared.catalog import CATALOG
from shared.pagination import Page, page_of

router = APIRouter(prefix="/v1", tags=["insights"])


def _insight(failed: FailedModule) -> dict[str, Any]:
    latest = failed.days[0]
    entry = CATALOG.module(failed.module)
    name = entry.name if entry is not None else failed.module
    days = len(failed.days)
    return {
        "kind": "sync_failed",
        "severity": "critical",
        "module": failed.module,
        "message": f"The daily sync of {name} failed for {days} day{'s' if days != 1 else ''} "
        f"(latest {latest.day}: {latest.error or 'no error recorded'}); its usage of "
        "those days is missing until a sync succeeds.",
        "count": days,
        "items": [
            {
                "day": s.day.isoformat(),
                "error": s.error,
                "attempts": s.attempts,
                "finished_at": None if s.finished_at is None else s.finished_at.isoformat(),
            }
            for s in failed.days
        ],
    }


@router.get(
    "/insights", response_model=Page[dict[str, Any]], summary="List failed syncs as insights"
)
async def sync_insights(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[dict[str, Any]]:
    """``sync_failed`` (critical): a module whose latest finished sync of a day failed, with
    the error, until a later sync of that day succeeds."""
    async with runtime.sessions() as session:
        found = await failed_syncs(session, ctx.tenant_id)
    return page_of([_insight(f) for f in found], paging)
