"""Forwarding to the owning service: signed caller context, request id, bounded bodies,
and upstream failures turned into problems that leak nothing."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import httpx
from fastapi import Request, Response

from shared.changes import H_CHANGES
from shared.context import H_REQUEST_ID, CallerContext, sign
from shared.logging import request_id_var
from shared.problems import BadGateway, GatewayTimeout, PayloadTooLarge, ServiceUnavailable

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("content-type", "accept")
# The changes header goes to the audit, which takes it off the answer (``audit.trail``).
RETURNED_HEADERS = ("content-type", "content-disposition", "retry-after", "location", H_CHANGES)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
ATTEMPTS = 3
BACKOFF_SECONDS = 0.1


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return bytes(body)


def _target(request: Request) -> str:
    """The path as received (still percent-encoded), so that the service decodes the same
    path the gateway matched and signed, even with ``%2F`` or ``%3F`` in a segment."""
    raw: bytes = request.scope.get("raw_path") or b""
    path = raw.split(b"?", 1)[0].decode("latin-1")
    return path or quote(request.url.path)


class Upstreams:
    def __init__(self, clients: dict[str, httpx.AsyncClient], secret: str) -> None:
        self.clients = clients
        self._secret = secret

    async def forward(
        self, service: str, request: Request, ctx: CallerContext, body: bytes
    ) -> Response:
        client = self.clients[service]
        headers = {h: v for h in FORWARDED_HEADERS if (v := request.headers.get(h))}
        headers.update(sign(self._secret, ctx, request.method, request.url.path))
        headers[H_REQUEST_ID] = request_id_var.get()
        # Only requests that may be repeated are retried, and only when no answer came.
        attempts = ATTEMPTS if request.method in IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            try:
                upstream = await client.request(
                    request.method,
                    _target(request),
                    params=request.url.query,
                    content=body,
                    headers=headers,
                )
                break
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.PoolTimeout,
                httpx.RemoteProtocolError,
                httpx.ReadError,
            ) as exc:
                if attempt < attempts:
                    await asyncio.sleep(BACKOFF_SECONDS * attempt)
                    continue
                log.warning(
                    "%s unavailable for %s %s: %r", service, request.method, request.url.path, exc
                )
                raise ServiceUnavailable(f"The {service} service is unavailable.") from exc
            except httpx.TimeoutException as exc:
                log.warning("%s timed out on %s %s", service, request.method, request.url.path)
                raise GatewayTimeout(f"The {service} service did not answer in time.") from exc
            except Exception as exc:
                log.exception("%s failed on %s %s", service, request.method, request.url.path)
                raise BadGateway(f"The {service} service failed to answer this request.") from exc
        if upstream.status_code >= 500:
            log.warning(
                "%s answered %s to %s %s",
                service,
                upstream.status_code,
                request.method,
                request.url.path,
            )
            if upstream.status_code == 503:
                wait = upstream.headers.get("retry-after", "")
                raise ServiceUnavailable(
                    f"The {service} service is unavailable.",
                    headers={"Retry-After": wait} if wait.isdigit() else None,
                )
            if upstream.status_code == 504:
                raise GatewayTimeout(f"The {service} service did not answer in time.")
            raise BadGateway(f"The {service} service failed to answer this request.")
        out = {h: v for h in RETURNED_HEADERS if (v := upstream.headers.get(h))}
        return Response(upstream.content, status_code=upstream.status_code, headers=out)

    async def get(
        self, service: str, path: str, params: httpx.QueryParams, ctx: CallerContext
    ) -> httpx.Response:
        """A read of the gateway's own (merging) endpoints from a service, signed for the
        caller; an unreachable or failing service is a problem, as when forwarding."""
        headers = sign(self._secret, ctx, "GET", path)
        headers[H_REQUEST_ID] = request_id_var.get()
        try:
            answer = await self.clients[service].get(path, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"The {service} service did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {service} service is unavailable.") from exc
        if answer.status_code >= 500:
            raise BadGateway(f"The {service} service failed to answer this request.")
        return answer

    async def healthy(self) -> dict[str, bool]:
        async def one(client: httpx.AsyncClient) -> bool:
            try:
                return (await client.get("/healthz", timeout=3)).status_code == 200
            except Exception:
                return False

        results = await asyncio.gather(*(one(c) for c in self.clients.values()))
        return dict(zip(self.clients, results, strict=True))

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
