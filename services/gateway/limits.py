"""The gateway's limits: a token bucket per API key, failed authentications throttled per
address and key prefix; the size of request bodies and no NUL characters in what comes in."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import (
    PayloadTooLarge,
    TooManyRequests,
    ValidationFailed,
    invalid,
    problem_response,
)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """In memory, per key and process: each key may spend ``burst`` requests at once and
    regains ``rate`` of them a second. Several gateway replicas each allow that much."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, key_id: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= self.burst and len(self._buckets) > _MAX_BUCKETS:
            del self._buckets[key_id]  # a full bucket is the same as none: bounded memory
        return bucket

    def waiting(self, key_id: str) -> float:
        """How long until a token is there (0: now), taking none."""
        bucket = self._refilled(key_id)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def spend(self, key_id: str) -> None:
        """Takes a token, going into debt if there is none (a failure counts even when it
        came in while throttled)."""
        bucket = self._refilled(key_id)
        self._buckets[key_id] = bucket
        bucket.tokens = max(bucket.tokens - 1, -float(self.burst))

    def wait_seconds(self, key_id: str) -> float:
        """Takes a token and answers 0, or answers how long until one is there (taking none)."""
        wait = self.waiting(key_id)
        if wait == 0:
            self.spend(key_id)
        return wait

    def check(self, key_id: str) -> None:
        wait = self.wait_seconds(key_id)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"This API key is limited to {self.rate:g} requests a second "
                f"(bursts of {self.burst}); retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )


_MAX_BUCKETS = 100_000


class AuthThrottle:
    """Failed authentications, throttled per source address and per key prefix (the key id a
    guess names): each may fail ``burst`` times at once and regains ``per_minute`` attempts a
    minute. While either is spent, requests are refused before their key is even looked up,
    so guessing a key's secret or trying many keys from one address gets nowhere."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures = RateLimiter(per_minute / 60, burst, clock)

    @staticmethod
    def _names(address: str, key_id: str | None) -> list[str]:
        return [f"address:{address}", *([f"key:{key_id}"] if key_id else [])]

    def check(self, address: str, key_id: str | None) -> None:
        wait = max(self._failures.waiting(n) for n in self._names(address, key_id))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many failed authentications from this address or for this key; "
                f"retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )

    def failed(self, address: str, key_id: str | None) -> None:
        for name in self._names(address, key_id):
            self._failures.spend(name)


# A JSON ``\u0000`` escape (not an escaped backslash followed by "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_problem(scope: Scope, body: bytes) -> ValidationFailed | None:
    """NUL characters: no text of this API holds one, and PostgreSQL refuses to store them
    (which would otherwise surface as a 5xx of whichever service got one)."""
    where: list[str | int] | None = None
    if "\x00" in scope.get("path", ""):
        where = ["path"]
    elif b"%00" in scope.get("query_string", b""):
        where = ["query"]
    elif b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)):
        where = ["body"]
    if where is None:
        return None
    return invalid(where, "NUL characters (U+0000) are not accepted")


class BodyLimit:
    """Refuses bodies above ``limit`` bytes with 413 before anything reads them, whether
    they declare their length or not; a body within the limit is replayed to the app.
    Refuses NUL characters in the path, the query or the body (422) too."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        refused = _nul_problem(scope, b"".join(chunks))
        if refused is not None:
            await problem_response(refused, scope.get("path"))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = PayloadTooLarge(f"The body is larger than {self.limit} bytes.")
        await problem_response(problem, scope.get("path"))(scope, receive, send)
