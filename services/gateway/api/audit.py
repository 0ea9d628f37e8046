"""``/v1/audit``: the writes through the gateway by the tenant's keys, with what each changed
and the failed authentications with its keys; newest first unless ``order=oldest``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

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
    action: str | None = Field(
        description="What was done, e.g. `contract.update`, `invoice.post`, `auth.failed` "
        "(a refused attempt with this key); null when the write reported no change."
    )
    resource: str | None = Field(description="The collection changed, e.g. `contracts`.")
    resource_id: str | None
    """The id of the resource changed."""
    before: Any = Field(description="The resource before the change (null: it did not exist).")
    after: Any = Field(description="The resource after the change (null: it is gone).")
    source: str | None = Field(description="The client's address.")


@router.get("/v1/audit", response_model=Page[AuditOut], summary="List the audit of writes")
async def list_audit(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    key_id: Annotated[str | None, Query(max_length=32)] = None,
    resource: Annotated[str | None, Query(max_length=64)] = None,
    resource_id: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    order: service.Order = "newest",
) -> Page[AuditOut]:
    """Every write through the gateway by a key of this tenant and what it changed (before
    and after), and every refused attempt with one of its keys; newest first by default."""
    from_, to = (None if t is None else as_utc(t) for t in (from_, to))
    ordered(from_, to)
    where = service.AuditFilter(key_id, resource, resource_id, action, from_, to)
    async with runtime.sessions() as session:
        page = await service.list_writes(session, ctx.tenant_id, paging, where, order)
    return Page(
        items=[AuditOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )
