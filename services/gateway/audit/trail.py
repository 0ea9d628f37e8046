"""The audit middleware: wraps the whole app and records each write once its answer starts,
so that whoever got the answer finds the write in the trail. What the write changed comes
from the ``X-ICB-Changes`` header of the answer (set by the service that made the change, or
by the gateway's own endpoints), which is taken off before the answer goes out."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.audit import service
from shared.changes import H_CHANGES, Change, decode
from shared.clock import utc_now
from shared.context import H_REQUEST_ID, CallerContext
from shared.runtime import BaseRuntime

log = logging.getLogger(__name__)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
CALLER_STATE = "caller"
"""Where ``authenticate`` leaves the caller: ``request.state.caller`` (the ASGI scope state)."""
_CHANGES = H_CHANGES.encode()


class AuditTrail:
    def __init__(self, app: ASGIApp, runtime: BaseRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in READS:

            async def send_plain(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = _without_changes(message)[0]
                await send(message)

            await self.app(scope, receive, send_plain)
            return
        state = scope.setdefault("state", {})
        recorded = False

        async def send_recorded(message: Message) -> None:
            # Recorded before the answer starts: whoever got the answer finds it in the trail.
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                headers, changes = _without_changes(message)
                message["headers"] = headers
                request_id = dict(headers).get(H_REQUEST_ID.encode(), b"-").decode("latin-1")
                await self._record(state, scope, message["status"], request_id, changes)
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            if not recorded:
                recorded = True
                await self._record(state, scope, 500, "-", [])
            raise

    async def _record(
        self,
        state: dict[str, object],
        scope: Scope,
        status: int,
        request_id: str,
        changes: list[Change],
    ) -> None:
        ctx = state.get(CALLER_STATE)
        if not isinstance(ctx, CallerContext):
            return  # no key was accepted: there is nobody to record
        client = scope.get("client")
        write = service.Write(
            scope["method"], scope["path"], status, request_id, client[0] if client else "-"
        )
        try:
            async with self.runtime.transaction() as session:
                await service.record(session, ctx, write, changes, utc_now())
        except Exception:
            # The write itself is done; failing its answer now would invite a retry of it.
            log.exception(
                "audit record lost: key %s %s %s -> %s",
                ctx.key_id,
                scope["method"],
                scope["path"],
                status,
            )


def _without_changes(message: Message) -> tuple[list[tuple[bytes, bytes]], list[Change]]:
    """The answer's headers without the changes header, and the changes it held."""
    kept: list[tuple[bytes, bytes]] = []
    changes: list[Change] = []
    for name, value in message.get("headers", ()):
        if name.lower() == _CHANGES:
            changes.extend(decode(value.decode("latin-1")))
        else:
            kept.append((name, value))
    return kept, changes
