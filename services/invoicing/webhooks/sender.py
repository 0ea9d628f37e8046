"""Sends one signed webhook request, connecting only to allowed addresses.

The check runs on the socket's peer address after the connection is made: whatever DNS
answered at that moment (a rebinding attack answers a private address on the second lookup),
a refused address is never sent a byte.
"""

from __future__ import annotations

import time
import typing
from dataclasses import dataclass

import httpcore

from services.invoicing.webhooks.targets import TargetRefused, check_address

ERROR_LIMIT = 500


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = stream.get_extra_info("server_addr")
        try:
            if not peer:
                raise TargetRefused("the connected address is unknown")
            check_address(str(peer[0]), self._allow_private)
        except TargetRefused:
            await stream.aclose()
            raise
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks are never sent to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """One connection pool for every endpoint; each request bounded by ``timeout``."""

    def __init__(self, allow_private: bool, timeout: float = 10.0) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=GuardedBackend(allow_private), max_connections=200, retries=0
        )
        self._timeout = timeout

    async def send(self, url: str, headers: dict[str, str], body: str) -> Outcome:
        started = time.monotonic()
        timeouts = {"connect": self._timeout, "read": self._timeout, "write": self._timeout}
        timeouts["pool"] = self._timeout
        try:
            response = await self._pool.request(
                "POST",
                url,
                headers=[(k.encode(), v.encode()) for k, v in headers.items()],
                content=body.encode(),
                extensions={"timeout": timeouts},
            )
            status: int | None = response.status
            error = None if 200 <= response.status < 300 else _excerpt(response.content)
        except TargetRefused as exc:
            status, error = None, f"refused: {exc}"
        except httpcore.TimeoutException:
            status, error = None, f"no answer within {self._timeout:g} s"
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        return Outcome(status, error, int((time.monotonic() - started) * 1000))

    async def close(self) -> None:
        await self._pool.aclose()


def _excerpt(content: bytes) -> str:
    return content[:ERROR_LIMIT].decode(errors="replace")
