"""Signed calls from one service to another, on behalf of the caller of the first."""

from __future__ import annotations

from typing import Any

import httpx

from shared.context import CallerContext, sign
from shared.observability.tracing import instrument_client
from shared.problems import ServiceUnavailable


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        secret: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret = secret
        self._client = instrument_client(
            httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        )

    async def get(self, ctx: CallerContext, path: str) -> tuple[int, Any]:
        headers = sign(self._secret, ctx, "GET", path)
        try:
            response = await self._client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("A service this request needs cannot be reached.") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable("A service this request needs failed.")
        return response.status_code, response.json() if response.content else None

    async def aclose(self) -> None:
        await self._client.aclose()
