"""The public API as the console calls it: the gateway's own ``/v1`` endpoints, in process
(through the whole gateway: keys, roles, limits, audit), with the signed-in key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

T = TypeVar("T")
BASE_URL = "http://gateway.internal"


@dataclass
class ApiProblem(Exception):
    """A refused call, in the API's own words (RFC 9457), with the fields it names."""

    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[list[str | int], str]] = field(default_factory=list)
    """Every error as the API gave it: where (``body`` and ``query`` left out) and what."""

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, f"The API answered {response.status_code}.")
        detail = body.get("detail") or body.get("title") or f"Error {response.status_code}"
        fields: dict[str, str] = {}
        errors: list[tuple[list[str | int], str]] = []
        for error in body.get("errors") or ():
            loc = [part for part in error.get("loc") or () if part not in ("body", "query")]
            msg = plain(str(error.get("msg", "")))
            errors.append((loc, msg))
            if loc:
                fields.setdefault(str(loc[0]), msg)
        if fields:
            detail = "Please correct: " + "; ".join(f"{k}: {v}" for k, v in fields.items())
        return cls(response.status_code, str(detail), fields, errors)


REQUIRED = ("Field required", "String should have at least 1 character")
USUAL = {
    "Input should be a valid decimal": "write a number, such as 2.50",
    "Decimal input should be an integer or a valid decimal": "write a number, such as 2.50",
    "Input should be a valid date": "write a date, such as 2026-07-01",
    "Input should be greater than or equal to 0": "write 0 or more",
}


def plain(message: str) -> str:
    """A validator's message in a clerk's words where it has a usual wording."""
    if message.startswith(REQUIRED):
        return "this field is required"
    for said, meant in USUAL.items():
        if message.startswith(said):
            return meant
    return message.removeprefix("Value error, ")


class Api:
    """One console request's view of the API; its calls carry the caller's request id."""

    def __init__(self, client: httpx.AsyncClient, key: str, request_id: str | None) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {key}"}
        if request_id:
            self._headers["X-Request-Id"] = request_id

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        accept: str = "application/json",
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        headers = {**self._headers, "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        response = await self._client.request(
            method, path, params=clean, json=json, content=content, headers=headers
        )
        if response.status_code >= 400:
            raise ApiProblem.of(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params)).json()

    async def get_or_none(self, path: str, **params: Any) -> Any:
        """The answer, or None where the API says there is nothing (404) or the role may not
        read it (403)."""
        try:
            return await self.get(path, **params)
        except ApiProblem as problem:
            if problem.status in (403, 404):
                return None
            raise

    async def send(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.call(method, path, json=body)
        return response.json() if response.content else None

    async def upload(self, path: str, content: bytes, content_type: str) -> Any:
        """POSTs a file as it is (a CSV, say) and answers the JSON the API returns."""
        response = await self.call("POST", path, content=content, content_type=content_type)
        return response.json() if response.content else None

    async def items(self, path: str, pages: int, **params: Any) -> tuple[list[Any], bool]:
        """Up to ``pages`` pages of a list; whether more remained."""
        found: list[Any] = []
        cursor = None
        for _ in range(pages):
            page = await self.get(path, **{"limit": 1000, **params, "cursor": cursor})
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found, False
        return found, True


async def gather(calls: Iterable[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*calls))


def in_process_client(app: ASGIApp, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=timeout
    )
