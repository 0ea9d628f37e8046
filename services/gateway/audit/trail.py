"""The audit middleware: wraps the whole app and records each write once its answer starts,
so that whoever got the answer finds the write in the trail."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.audit import service
from shared.clock import utc_now
from shared.context import H_REQUEST_ID, CallerContext
from shared.runtime import BaseRuntime

log = logging.getLogger(__name__)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
CALLER_STATE = "caller"
"""Where ``authenticate`` leaves the caller: ``request.state.caller`` (the ASGI scope state)."""


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
            async with self.runtime.transaction() as session:
                await service.record(
                    session, ctx, scope["method"], scope["path"], status, request_id, utc_now()
                )
        except Exception:
            # The write itself is done; failing its answer now would invite a retry of it.
            log.exception(
                "audit record lost: key %s %s %s -> %s",
                ctx.key_id,
                scope["method"],
                scope["path"],
                status,
            )
