"""The gateway's own endpoints (keys, audit, the API description) and, last, the
authenticated catch-all that forwards everything else. Roles come from the routing table for
both."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api import audit, docs, forward, insights, keys

__all__ = ["router"]

router = APIRouter()
for part in (keys, audit, insights, docs, forward):  # the catch-all must come last
    router.include_router(part.router)
