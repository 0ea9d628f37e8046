"""The audit trail: every write through the gateway by an authenticated key, with its outcome.

Recorded around the whole app, so that refusals (403, 429, 4xx of a service), failures
(5xx) and the gateway's own endpoints (API keys) are all in it, not just forwarded successes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.models import AuditRow
from shared.context import H_REQUEST_ID, CallerContext
from shared.runtime import BaseRuntime

log = logging.getLogger(__name__)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
CALLER_STATE = "caller"
"""Where ``authenticate`` leaves the caller: ``request.state.caller`` (the ASGI scope state)."""


async def record(
    runtime: BaseRuntime,
    ctx: CallerContext,
    method: str,
    path: str,
    status: int,
    request_id: str,
) -> None:
    async with runtime.transaction() as session:
        session.add(
            AuditRow(
                tenant_id=ctx.tenant_id,
                key_id=ctx.key_id,
                method=method,
                path=path[:500],
                status=status,
                request_id=request_id[:64],
                at=datetime.now(UTC),
            )
        )


class AuditTrail:
    def __init__(self, app: ASGIApp, runtime: BaseRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        recorded = False

        async def send_recorded(message: Message) -> None:
            # Recorded before the answer starts: whoever got the answer finds it in the trail.
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                headers = dict(message.get("headers", ()))
                request_id = headers.get(H_REQUEST_ID.encode(), b"-").decode("latin-1")
                await self._record(state, scope, message["status"], request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            if not recorded:
                recorded = True
                await self._record(state, scope, 500, "-")
            raise

    async def _record(
        self, state: dict[str, object], scope: Scope, status: int, request_id: str
    ) -> None:
        ctx = state.get(CALLER_STATE)
        if not isinstance(ctx, CallerContext):
            return  # no key was accepted: there is nobody to record
        try:
            await record(self.runtime, ctx, scope["method"], scope["path"], status, request_id)
        except Exception:
            # The write itself is done; failing its answer now would invite a retry of it.
            log.exception(
                "audit record lost: key %s %s %s -> %s",
                ctx.key_id,
                scope["method"],
                scope["path"],
                status,
            )
