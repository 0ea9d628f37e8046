"""``/v1/audit``: the writes through the gateway by the tenant's keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from services.gateway.api.deps import Caller, Paging, Runtime
from services.gateway.audit import service
from shared.openapi_docs import ApiModel
from shared.pagination import Page
from shared.wire import UtcDateTime, as_utc, ordered

router = APIRouter(tags=["audit"])


class AuditOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    """The entry's number, increasing in the order of the writes."""
    key_id: str
    """The id of the API key that made the request."""
    method: str
    """The HTTP method of the write."""
    path: str
    """The path written to."""
    status: int = Field(description="The HTTP status the write was answered with.")
    request_id: str
    """The request's id (the `X-Request-ID` of the answer), to find it in the logs."""
    at: UtcDateTime
    """When the write was answered."""


@router.get("/v1/audit", response_model=Page[AuditOut], summary="List the audit of writes")
async def list_audit(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
) -> Page[AuditOut]:
    """Every write through the gateway by a key of this tenant, oldest first, refused ones
    included; ``from`` and ``to`` bound the time."""
    from_, to = (None if t is None else as_utc(t) for t in (from_, to))
    ordered(from_, to)
    async with runtime.sessions() as session:
        page = await service.list_writes(session, ctx.tenant_id, paging, start=from_, end=to)
    return Page(
        items=[AuditOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )
