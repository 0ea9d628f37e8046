"""What the gateway's endpoints depend on: the runtime, paging, and the caller, authenticated
by key and authorised by the routing table."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.audit import CALLER_STATE
from services.gateway.routes import match
from services.gateway.runtime import GatewayRuntime
from shared.context import CallerContext
from shared.deps import Paging, runtime_dependency
from shared.observability.http import bind_tenant
from shared.problems import Forbidden, Unauthorized

__all__ = ["Caller", "Paging", "Runtime", "authorize"]
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
    bind_tenant(request, ctx.tenant_id)
    gateway_runtime(request).rate_limiter.check(ctx.key_id)
    route, _ = match(request.method, request.url.path)
    if route is None or ctx.role not in route.roles:
        raise Forbidden(f"The role {ctx.role.value!r} may not {request.method} {request.url.path}.")
    return ctx


Caller = Annotated[CallerContext, Depends(authorize)]
