"""The public API as the command line talks to it: a configured URL and key, problems
(RFC 9457) turned into one readable line, pages followed, rate limits waited out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "ICB_API_URL"
KEY_VARIABLE = "ICB_API_KEY"
RATE_LIMIT_RETRIES = 50


class ApiError(Exception):
    """A failed call, as one line for the terminal."""


class ConfigError(ApiError):
    """The command line lacks what it needs to reach the API (exit status 2)."""


@dataclass(frozen=True)
class ApiConfig:
    url: str
    key: str

    @classmethod
    def resolve(cls, url: str | None, key: str | None) -> ApiConfig:
        """Options first, then ``ICB_API_URL`` / ``ICB_API_KEY``; the URL has a default,
        the key has none."""
        key = key or os.environ.get(KEY_VARIABLE)
        if not key:
            raise ConfigError(f"no API key: give --api-key or set {KEY_VARIABLE}")
        return cls((url or os.environ.get(URL_VARIABLE) or DEFAULT_API_URL).rstrip("/"), key)


def problem_line(response: httpx.Response) -> str:
    """``STATUS Title: detail (loc: msg; ...)`` from a problem body; the status and the start
    of the text when the body is not a problem."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "title" not in body:
        text = " ".join(response.text.split())[:200]
        return f"{response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")
    return problem_text(body, response.status_code)


def problem_text(body: dict[str, Any], status: int = 500) -> str:
    """One line of an RFC 9457 problem body."""
    line = f"{body.get('status', status)} {body.get('title', 'Error')}"
    detail = body.get("detail")
    if detail and detail != body.get("title"):
        line += f": {detail}"
    errors = body.get("errors") or []
    if errors:
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}".lstrip(": ")
            for e in errors
        ]
        line += f" ({'; '.join(parts)})"
    return line


def items_of(body: Any) -> list[dict[str, Any]]:
    """A list answer, bare or paginated (``{items, next_cursor}``)."""
    items = body["items"] if isinstance(body, dict) else body
    return list(items)


class ApiClient:
    """``transport`` lets tests put the embedded system's ASGI app underneath."""

    def __init__(
        self,
        config: ApiConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 120,
    ) -> None:
        self.config = config
        self.http = httpx.AsyncClient(
            base_url=config.url,
            headers={"Authorization": f"Bearer {config.key}"},
            transport=transport,
            timeout=timeout,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer of a call that succeeded; ``ApiError`` otherwise."""
        try:
            for _ in range(RATE_LIMIT_RETRIES):
                response = await self.http.request(method, path, **kwargs)
                if response.status_code != 429:
                    break
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach the API at {self.config.url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(f"{method} {path}: {problem_line(response)}")
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(method, path, **kwargs)).json()

    async def pages(
        self, path: str, params: dict[str, Any], limit: int = 200
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paginated list."""
        cursor: str | None = None
        while True:
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            body = await self.json("GET", path, params=query)
            for item in items_of(body):
                yield item
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                return
