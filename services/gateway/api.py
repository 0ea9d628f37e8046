"""The gateway's own endpoints (keys, audit) and the authenticated catch-all proxy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.gateway.keys import KeyVerifier, issue_key
from services.gateway.models import ApiKeyRow, AuditRow
from services.gateway.proxy import Upstreams, read_body
from services.gateway.routes import match
from shared.context import CallerContext, Role
from shared.logging import request_id_var
from shared.pagination import Page, PageParams, page_params, paginate
from shared.problems import Forbidden, MethodNotAllowed, NotFound, Problem, Unauthorized
from shared.runtime import ServiceRuntime, runtime_of

router = APIRouter()
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Paging = Annotated[PageParams, Depends(page_params)]
VERIFIER = "key_verifier"
UPSTREAMS = "upstreams"


async def authenticate(request: Request) -> CallerContext:
    runtime = runtime_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.",
                           headers={"WWW-Authenticate": "Bearer"})
    verifier: KeyVerifier = runtime.extras[VERIFIER]
    async with runtime.sessions() as session:
        ctx = await verifier.caller(session, key.strip())
    if ctx is None:
        raise Unauthorized("The API key is unknown or revoked.",
                           headers={"WWW-Authenticate": "Bearer"})
    request.state.caller = ctx
    return ctx


Caller = Annotated[CallerContext, Depends(authenticate)]


def require_admin(ctx: Caller) -> CallerContext:
    if ctx.role != "admin":
        raise Forbidden("Only an admin key may do this.")
    return ctx


Admin = Annotated[CallerContext, Depends(require_admin)]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    role: Role


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedKeyOut(KeyOut):
    key: str


def _key_out(row: ApiKeyRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "role": row.role, "created_at": row.created_at,
            "revoked_at": row.revoked_at}


@router.post("/v1/api-keys", status_code=201, response_model=IssuedKeyOut, tags=["api keys"])
async def create_key(body: KeyIn, ctx: Admin, runtime: Runtime) -> IssuedKeyOut:
    """The secret key is shown only in this answer."""
    async with runtime.transaction() as session:
        issued = await issue_key(session, ctx.tenant_id, body.name, body.role)
    return IssuedKeyOut(**_key_out(issued.row), key=issued.key)


@router.get("/v1/api-keys", response_model=Page[KeyOut], tags=["api keys"])
async def list_keys(ctx: Admin, runtime: Runtime, paging: Paging) -> Page[KeyOut]:
    query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == ctx.tenant_id)
    async with runtime.sessions() as session:
        return await paginate(session, query, [ApiKeyRow.id], paging,
                              lambda r: KeyOut(**_key_out(r[0])), lambda r: (r[0].id,))


@router.delete("/v1/api-keys/{key_id}", status_code=204, tags=["api keys"])
async def revoke_key(key_id: str, ctx: Admin, runtime: Runtime) -> Response:
    """Takes effect at once: every request looks the key up."""
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
    status: int
    request_id: str
    at: datetime


@router.get("/v1/audit", response_model=Page[AuditOut], tags=["audit"])
async def list_audit(
    ctx: Admin, runtime: Runtime, paging: Paging,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
) -> Page[AuditOut]:
    query = select(AuditRow).where(AuditRow.tenant_id == ctx.tenant_id)
    if from_ is not None:
        query = query.where(AuditRow.at >= from_)
    if to is not None:
        query = query.where(AuditRow.at <= to)
    async with runtime.sessions() as session:
        return await paginate(session, query, [AuditRow.id], paging,
                              lambda r: AuditOut.model_validate(r[0], from_attributes=True),
                              lambda r: (r[0].id,))


async def record_audit(runtime: ServiceRuntime, ctx: CallerContext, request: Request,
                       status: int) -> None:
    async with runtime.transaction() as session:
        session.add(AuditRow(
            tenant_id=ctx.tenant_id, key_id=ctx.key_id, method=request.method,
            path=request.url.path[:500], status=status, request_id=request_id_var.get(),
            at=datetime.now(UTC),
        ))


@router.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def proxy(request: Request, rest: str, runtime: Runtime) -> Response:
    route, path_known = match(request.method, request.url.path)
    if route is None:
        if path_known:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        raise NotFound(f"No such endpoint: {request.method} {request.url.path}.")
    ctx = await authenticate(request)
    if ctx.role not in route.roles:
        raise Forbidden(f"The role {ctx.role!r} may not {request.method} {request.url.path}.")
    body = await read_body(request, runtime.settings.max_body_bytes)
    upstreams: Upstreams = runtime.extras[UPSTREAMS]
    try:
        response = await upstreams.forward(route.service, request, ctx, body)
    except Problem as problem:
        if request.method != "GET":
            await record_audit(runtime, ctx, request, problem.status)
        raise
    if request.method != "GET":
        await record_audit(runtime, ctx, request, response.status_code)
    return response
