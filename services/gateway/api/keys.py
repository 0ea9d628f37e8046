"""``/v1/api-keys``: a tenant's keys, issued with a role, listed without secrets, revoked."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import ConfigDict, Field

from services.gateway.api.deps import Caller, Paging, Runtime
from services.gateway.keys import service
from shared.changes import changed
from shared.clock import utc_now
from shared.context import Role
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page
from shared.wire import UtcDateTime

router = APIRouter(tags=["api keys"])
RESOURCE = "api-keys"


class KeyIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples({"name": "accounting export", "role": "viewer"}),
    )
    name: str = Field(min_length=1, max_length=200)
    """What the key is for, to recognise it in lists and the audit."""
    role: Role
    """What the key may do: `admin`, `billing`, `ingest` or `viewer`."""


class KeyOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    """The key's id: the part of the key before its secret, named in the audit."""
    name: str
    """What the key is for."""
    role: Role
    """What the key may do."""
    created_at: UtcDateTime
    """When the key was created."""
    revoked_at: UtcDateTime | None
    """When the key was revoked; null while it is active."""


class IssuedKeyOut(KeyOut):
    key: str = Field(description="The secret API key; shown only in this answer.")


@router.post(
    "/v1/api-keys", status_code=201, response_model=IssuedKeyOut, summary="Create an API key"
)
async def create_key(body: KeyIn, ctx: Caller, runtime: Runtime) -> IssuedKeyOut:
    """A new key of this tenant with a role; the secret key is shown only in this answer."""
    async with runtime.transaction() as session:
        issued = await service.issue_key(session, ctx.tenant_id, body.name, body.role, utc_now())
    key = KeyOut.model_validate(issued.row)
    changed(RESOURCE, key.id, "api_key.create", None, key)
    return IssuedKeyOut(**key.model_dump(), key=issued.key)


@router.get("/v1/api-keys", response_model=Page[KeyOut], summary="List API keys")
async def list_keys(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[KeyOut]:
    """The tenant's keys, revoked ones included, without their secrets."""
    async with runtime.sessions() as session:
        page = await service.list_keys(session, ctx.tenant_id, paging)
    return Page(items=[KeyOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor)


class CurrentKeyOut(ApiModel):
    id: str
    """The key's id."""
    role: Role
    """The key's role."""
    tenant_id: str
    """The key's tenant."""
    timezone: str
    """The tenant's IANA time zone."""


@router.get("/v1/api-keys/current", response_model=CurrentKeyOut, summary="Show the calling key")
async def current_key(ctx: Caller) -> CurrentKeyOut:
    """The calling key's own role and tenant: what a client (the console) may show it."""
    return CurrentKeyOut(
        id=ctx.key_id, role=ctx.role, tenant_id=ctx.tenant_id, timezone=ctx.timezone
    )


@router.delete("/v1/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(key_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """Takes effect at once: every request looks its key up. The key stays listed, with
    ``revoked_at``."""
    async with runtime.transaction() as session:
        row, revoked = await service.revoke_key(session, ctx.tenant_id, key_id, utc_now())
    if revoked:
        after = KeyOut.model_validate(row)
        before = after.model_copy(update={"revoked_at": None})
        changed(RESOURCE, key_id, "api_key.revoke", before, after)
    return Response(status_code=204)
