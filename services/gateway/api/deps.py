"""What the gateway's endpoints depend on: the runtime, paging, and the caller, authenticated
by key and authorised by the routing table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator

from services.gateway.audit import CALLER_STATE
from services.gateway.keys import KeyVerifier
from services.gateway.limits import RateLimiter
from services.gateway.routes import match
from shared.context import CallerContext
from shared.pagination import PageParams, page_params
from shared.problems import Forbidden, Unauthorized
from shared.runtime import ServiceRuntime, runtime_of

Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Paging = Annotated[PageParams, Depends(page_params)]
VERIFIER = "key_verifier"
UPSTREAMS = "upstreams"
RATE_LIMITER = "rate_limiter"
OPENAPI = "openapi"


async def authenticate(request: Request) -> CallerContext:
    runtime = runtime_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: KeyVerifier = runtime.extras[VERIFIER]
    async with runtime.sessions() as session:
        ctx = await verifier.caller(session, key.strip())
    if ctx is None:
        raise Unauthorized(
            "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    setattr(request.state, CALLER_STATE, ctx)
    return ctx


async def authorize(request: Request) -> CallerContext:
    """The key, within its rate, with a role the routing table allows for this request."""
    ctx = await authenticate(request)
    limiter: RateLimiter = runtime_of(request).extras[RATE_LIMITER]
    limiter.check(ctx.key_id)
    route, _ = match(request.method, request.url.path)
    if route is None or ctx.role not in route.roles:
        raise Forbidden(f"The role {ctx.role.value!r} may not {request.method} {request.url.path}.")
    return ctx


Caller = Annotated[CallerContext, Depends(authorize)]


def _utc(value: datetime) -> datetime:
    """SQLite hands times back without their zone; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
