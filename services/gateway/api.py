"""The gateway's own endpoints (keys, audit, the API description) and the authenticated
catch-all proxy. Roles come from the routing table for both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.gateway.audit import CALLER_STATE
from services.gateway.keys import issue_key
from services.gateway.models import ApiKeyRow, AuditRow
from services.gateway.proxy import read_body
from services.gateway.routes import GATEWAY, match
from services.gateway.runtime import GatewayRuntime
from shared.context import CallerContext, Role
from shared.deps import Paging, runtime_dependency
from shared.pagination import Page, paginate
from shared.problems import Forbidden, MethodNotAllowed, NotFound, Unauthorized

router = APIRouter()
gateway_runtime = runtime_dependency(GatewayRuntime)
Runtime = Annotated[GatewayRuntime, Depends(gateway_runtime)]


async def authenticate(request: Request) -> CallerContext:
    runtime = gateway_runtime(request)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with runtime.sessions() as session:
        ctx = await runtime.key_verifier.caller(session, key.strip())
    if ctx is None:
        raise Unauthorized(
            "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    setattr(request.state, CALLER_STATE, ctx)
    return ctx


async def authorize(request: Request) -> CallerContext:
    """The key, within its rate, with a role the routing table allows for this request."""
    ctx = await authenticate(request)
    gateway_runtime(request).rate_limiter.check(ctx.key_id)
    route, _ = match(request.method, request.url.path)
    if route is None or ctx.role not in route.roles:
        raise Forbidden(f"The role {ctx.role!r} may not {request.method} {request.url.path}.")
    return ctx


Caller = Annotated[CallerContext, Depends(authorize)]


def _utc(value: datetime) -> datetime:
    """SQLite hands times back without their zone; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class IssuedKeyOut(KeyOut):
    key: str = Field(description="The secret API key; shown only in this answer.")


def _key_out(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/v1/api-keys", status_code=201, response_model=IssuedKeyOut, tags=["api keys"])
async def create_key(body: KeyIn, ctx: Caller, runtime: Runtime) -> IssuedKeyOut:
    """A new key of this tenant with a role; the secret key is shown only in this answer."""
    async with runtime.transaction() as session:
        issued = await issue_key(session, ctx.tenant_id, body.name, body.role)
    return IssuedKeyOut(**_key_out(issued.row), key=issued.key)


@router.get("/v1/api-keys", response_model=Page[KeyOut], tags=["api keys"])
async def list_keys(ctx: Caller, runtime: Runtime, paging: Paging) -> Page[KeyOut]:
    """The tenant's keys, revoked ones included, without their secrets."""
    query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == ctx.tenant_id)
    async with runtime.sessions() as session:
        return await paginate(
            session,
            query,
            [ApiKeyRow.id.expression],
            paging,
            lambda r: KeyOut(**_key_out(r[0])),
            lambda r: (r[0].id,),
        )


@router.delete("/v1/api-keys/{key_id}", status_code=204, tags=["api keys"])
async def revoke_key(key_id: str, ctx: Caller, runtime: Runtime) -> Response:
    """Takes effect at once: every request looks its key up."""
    async with runtime.transaction() as session:
        row = await session.get(ApiKeyRow, key_id)
        if row is None or row.tenant_id != ctx.tenant_id:
            raise NotFound(f"No API key {key_id}.")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
    return Response(status_code=204)


class AuditOut(BaseModel):
    id: int
    key_id: str
    method: str
    path: str
    status: int = Field(description="The HTTP status the write was answered with.")
    request_id: str
    at: UtcDateTime


@router.get("/v1/audit", response_model=Page[AuditOut], tags=["audit"])
async def list_audit(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
) -> Page[AuditOut]:
    """Every write through the gateway by a key of this tenant, oldest first."""
    query = select(AuditRow).where(AuditRow.tenant_id == ctx.tenant_id)
    if from_ is not None:
        query = query.where(AuditRow.at >= from_)
    if to is not None:
        query = query.where(AuditRow.at <= to)
    async with runtime.sessions() as session:
        return await paginate(
            session,
            query,
            [AuditRow.id.expression],
            paging,
            lambda r: AuditOut.model_validate(r[0], from_attributes=True),
            lambda r: (r[0].id,),
        )


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document(runtime: Runtime) -> Response:
    return Response(await runtime.openapi.document(), media_type="application/json")


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Integrated Customer Billing")


@router.api_route(
    "/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def proxy(request: Request, rest: str, runtime: Runtime) -> Response:
    route, path_known = match(request.method, request.url.path)
    if route is None or route.service == GATEWAY:
        if path_known:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        raise NotFound(f"No such endpoint: {request.method} {request.url.path}.")
    ctx = await authorize(request)
    body = await read_body(request, runtime.settings.max_body_bytes)
    return await runtime.upstreams.forward(route.service, request, ctx, body)
