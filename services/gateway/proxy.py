"""Forwarding to the owning service: signed caller context, request id, bounded bodies,
and upstream failures turned into problems that leak nothing."""

from __future__ import annotations

import httpx
from fastapi import Request, Response

from shared.context import H_REQUEST_ID, CallerContext, sign
from shared.logging import request_id_var
from shared.problems import BadGateway, GatewayTimeout, PayloadTooLarge, ServiceUnavailable

FORWARDED_HEADERS = ("content-type", "accept")
RETURNED_HEADERS = ("content-type", "content-disposition", "retry-after")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


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


class Upstreams:
    def __init__(self, clients: dict[str, httpx.AsyncClient], secret: str) -> None:
        self.clients = clients
        self._secret = secret

    async def forward(
        self, service: str, request: Request, ctx: CallerContext, body: bytes
    ) -> Response:
        client = self.clients[service]
        path = request.url.path
        headers = {h: v for h in FORWARDED_HEADERS if (v := request.headers.get(h))}
        headers.update(sign(self._secret, ctx, request.method, path))
        headers[H_REQUEST_ID] = request_id_var.get()
        attempts = 2 if request.method in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                upstream = await client.request(
                    request.method, path, params=request.query_params, content=body,
                    headers=headers,
                )
                break
            except httpx.TimeoutException as exc:
                raise GatewayTimeout(f"The {service} service did not answer in time.") from exc
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    continue
                raise ServiceUnavailable(f"The {service} service is unavailable.") from exc
        if upstream.status_code >= 500:
            if upstream.status_code == 503:
                raise ServiceUnavailable(f"The {service} service is unavailable.")
            raise BadGateway(f"The {service} service failed to answer this request.")
        out = {h: v for h in RETURNED_HEADERS if (v := upstream.headers.get(h))}
        return Response(upstream.content, status_code=upstream.status_code, headers=out)

    async def healthy(self) -> dict[str, bool]:
        checks = {}
        for name, client in self.clients.items():
            try:
                checks[name] = (await client.get("/healthz", timeout=3)).status_code == 200
            except httpx.HTTPError:
                checks[name] = False
        return checks

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
