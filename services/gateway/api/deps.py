"""What the gateway's endpoints depend on: the runtime, paging, and the caller, authenticated
by key and authorised by the routing table."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.audit import CALLER_STATE
from services.gateway.audit import service as audit
from services.gateway.keys.api_key import key_prefix
from services.gateway.routes import match
from services.gateway.runtime import GatewayRuntime
from shared.clock import utc_now
from shared.context import CallerContext
from shared.deps import Paging, runtime_dependency
from shared.observability.context import request_id_var
from shared.observability.http import bind_tenant
from shared.problems import Forbidden, Unauthorized

__all__ = ["Caller", "Paging", "Runtime", "authorize"]
gateway_runtime = runtime_dependency(GatewayRuntime)
Runtime = Annotated[GatewayRuntime, Depends(gateway_runtime)]


def source_address(request: Request) -> str:
    return request.client.host if request.client else "-"


async def authenticate(request: Request) -> CallerContext:
    """The caller of a valid key. Failures are throttled per source address and key prefix
    (429 before any look-up while throttled), and each one that names a key of a tenant goes
    into that tenant's audit."""
    runtime = gateway_runtime(request)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    address = source_address(request)
    prefix = key_prefix(key) if scheme.lower() == "bearer" else None
    runtime.auth_throttle.check(address, prefix)
    if scheme.lower() != "bearer" or not key:
        runtime.auth_throttle.failed(address, None)
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with runtime.sessions() as session:
        verdict = await runtime.key_verifier.check(session, key)
    if verdict.caller is None:
        runtime.auth_throttle.failed(address, prefix)
        if verdict.tenant_id is not None and verdict.key_id is not None:
            async with runtime.transaction() as session:
                write = audit.Write(
                    request.method, request.url.path, 401, request_id_var.get(), address
                )
                await audit.record_auth_failure(
                    session, verdict.tenant_id, verdict.key_id, write, utc_now()
                )
        raise Unauthorized(
            "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    setattr(request.state, CALLER_STATE, verdict.caller)
    return verdict.caller


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
