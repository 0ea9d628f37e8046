"""``/v1/api-keys``: a tenant's keys, issued with a role, listed without secrets, revoked."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.api.deps import Caller, Paging, Runtime
from services.gateway.keys import service
from shared.changes import changed
from shared.clock import utc_now
from shared.context import Role
from shared.pagination import Page
from shared.wire import UtcDateTime

router = APIRouter(tags=["api keys"])
RESOURCE = "api-keys"


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    role: Role
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class IssuedKeyOut(KeyOut):
    key: str = Field(description="The secret API key; shown only in this answer.")


@router.post("/v1/api-keys", status_code=201, response_model=IssuedKeyOut)
async def create_key(body: KeyIn, ctx: Caller, runtime: Runtime) -> IssuedKeyOut:
    """A new key of this tenant with a role; the secret key is shown only in this answer."""
    async with runtime.transaction() as session:
        issued = await service.issue_key(session, ctx.tenant_id, body.name, body.role, utc_now())
    key = KeyOut.model_validate(issued.row)
    changed(RESOURCE, key.id, "api_key.create", None, key)
    return IssuedKeyOut(**key.model_dump(), key=issued.key)


@router.get("/v1/api-keys", response_model=Page[KeyOut])
async def list_keys(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[KeyOut]:
    """The tenant's keys, revoked ones included, without their secrets."""
    async with runtime.sessions() as session:
        page = await service.list_keys(session, ctx.tenant_id, paging)
    return Page(items=[KeyOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor)


@router.delete("/v1/api-keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """Takes effect at once: every request looks its key up."""
    async with runtime.transaction() as session:
        row, revoked = await service.revoke_key(session, ctx.tenant_id, key_id, utc_now())
    if revoked:
        after = KeyOut.model_validate(row)
        before = after.model_copy(update={"revoked_at": None})
        changed(RESOURCE, key_id, "api_key.revoke", before, after)
    return Response(status_code=204)
