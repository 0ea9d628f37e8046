"""Who is calling: the gateway authenticates, then signs the caller's tenant and role.

Services accept a request only with a valid signature, so a client cannot forge a tenant or
a role by sending the headers itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request

from shared.problems import Unauthorized


class Role(StrEnum):
    """What a key may do; the gateway's routing table says where."""

    ADMIN = "admin"
    BILLING = "billing"
    INGEST = "ingest"
    VIEWER = "viewer"


ROLES: tuple[Role, ...] = tuple(Role)

H_TENANT = "x-icb-tenant"
H_TIMEZONE = "x-icb-timezone"
H_ROLE = "x-icb-role"
H_KEY = "x-icb-key"
H_TIMESTAMP = "x-icb-timestamp"
H_SIGNATURE = "x-icb-signature"
H_REQUEST_ID = "x-request-id"
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class CallerContext:
    tenant_id: str
    timezone: str
    role: Role
    key_id: str


def _signature(secret: str, ctx: CallerContext, timestamp: str, method: str, path: str) -> str:
    message = "|".join(
        (ctx.tenant_id, ctx.timezone, ctx.role, ctx.key_id, timestamp, method.upper(), path)
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, ctx: CallerContext, method: str, path: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        H_TENANT: ctx.tenant_id,
        H_TIMEZONE: ctx.timezone,
        H_ROLE: ctx.role,
        H_KEY: ctx.key_id,
        H_TIMESTAMP: timestamp,
        H_SIGNATURE: _signature(secret, ctx, timestamp, method, path),
    }


def verify(secret: str, request: Request) -> CallerContext:
    h = request.headers
    try:
        ctx = CallerContext(h[H_TENANT], h[H_TIMEZONE], Role(h[H_ROLE]), h[H_KEY])
        timestamp = h[H_TIMESTAMP]
        signature = h[H_SIGNATURE]
    except (KeyError, ValueError) as exc:
        raise Unauthorized("This service answers only requests signed by the gateway.") from exc
    expected = _signature(secret, ctx, timestamp, request.method, request.url.path)
    # Headers arrive as latin-1 text: "²" passes isdigit() but not int(), and compare_digest
    # refuses non-ASCII str; either would answer 500 instead of 401.
    fresh = (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 20
        and abs(time.time() - int(timestamp)) <= MAX_SKEW_SECONDS
    )
    if not (fresh and hmac.compare_digest(expected.encode(), signature.encode())):
        raise Unauthorized("Invalid or expired gateway signature.")
    return ctx
